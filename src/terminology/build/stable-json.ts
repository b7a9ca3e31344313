/**
 * Deterministic "pretty but compact" JSON: containers are indented by 2 until their compact form
 * fits on one line (≤ `inlineWidth` characters), so a ConceptMap element or a title is one line,
 * diffs stay readable and files stay small. Key order is the objects' insertion order (the builder
 * inserts in a fixed order), so the same input gives byte-identical output.
 */
export function stableJson(value: unknown, inlineWidth = 160): string {
  return `${render(value, 0, inlineWidth)}\n`;
}

function render(value: unknown, depth: number, width: number): string {
  const compact = JSON.stringify(value);
  if (value === null || typeof value !== 'object' || compact.length + depth * 2 <= width) return compact;
  const pad = '  '.repeat(depth + 1);
  const end = '  '.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => pad + render(v, depth + 1, width)).join(',\n')}\n${end}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${render(v, depth + 1, width)}`).join(',\n')}\n${end}}`;
}
