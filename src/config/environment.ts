import { validateSync, ValidateBy, type ValidationOptions } from 'class-validator';

export type Env = Record<string, string | undefined>;

/**
 * The variables of `env` that `schema` declares, trimmed, blank ones left out: what the config readers
 * validate and read. Unknown variables are not copied (the environment holds much else).
 */
export function declaredVariables<T extends object>(schema: new () => T, env: Env): T {
  const target = new schema();
  // Target ES2022 defines every declared field as an own property, so the keys name the variables.
  for (const name of Object.keys(target)) {
    const v = env[name]?.trim();
    if (v !== undefined && v !== '') (target as Record<string, string>)[name] = v;
  }
  return target;
}

/** Every problem of `env` against the class-validator `schema`, as `NAME=value (why)`. */
export function environmentProblems<T extends object>(schema: new () => T, env: Env): string[] {
  const variables = declaredVariables(schema, env) as Record<string, string | undefined>;
  return validateSync(variables, { forbidUnknownValues: false, stopAtFirstError: true }).flatMap((e) =>
    Object.values(e.constraints ?? {}).map((why) => `${e.property}=${variables[e.property] ?? ''} (${why})`));
}

/** A decimal integer string within min..max. */
export function IsIntegerString(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({
    name: 'isIntegerString',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && /^\d+$/.test(v) && Number.isSafeInteger(Number(v)) && Number(v) >= min && Number(v) <= max,
      defaultMessage: () => `must be an integer ${min}..${max}`,
    },
  }, options);
}
