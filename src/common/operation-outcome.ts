import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

/** An OperationOutcome with one issue per diagnostics line (an empty list gives one issue without diagnostics). */
export function operationOutcome(code: IssueCode, diagnostics: string[] = [], severity: IssueSeverity = 'error'): OperationOutcome {
  const issue: OperationOutcomeIssue[] =
    diagnostics.length === 0 ? [{ severity, code }] : diagnostics.map((d) => ({ severity, code, diagnostics: d }));
  return { resourceType: 'OperationOutcome', issue };
}

/** The FHIR issue code that fits an HTTP status. */
export function issueCodeForStatus(status: number): IssueCode {
  if (status === 400 || status === 422) return 'invalid';
  if (status === 401 || status === 403) return 'login';
  if (status === 404) return 'not-found';
  if (status === 405) return 'not-supported';
  if (status === 409) return 'conflict';
  if (status === 412) return 'incomplete';
  if (status === 413) return 'too-costly';
  if (status === 429) return 'throttled';
  if (status === 503) return 'transient';
  return 'exception';
}

export function isOperationOutcome(value: unknown): value is OperationOutcome {
  return typeof value === 'object' && value !== null && (value as { resourceType?: unknown }).resourceType === 'OperationOutcome';
}
