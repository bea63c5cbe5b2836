import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';

export type { StandardSchemaV1 };

/** The body type a Standard Schema produces. */
export type SchemaOutput<S extends StandardSchemaV1> = StandardSchemaV1.InferOutput<S>;

/** The outcome of validating one body. */
export type ValidationOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/**
 * Validates `value` with any Standard Schema (zod, valibot, arktype, …). Failure yields a reason
 * listing each issue as `path: message`.
 */
export async function validateWithSchema<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
): Promise<ValidationOutcome<SchemaOutput<S>>> {
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues === undefined) return { ok: true, value: result.value as SchemaOutput<S> };
  return { ok: false, reason: formatIssues(result.issues) };
}

/** `path.to.field: message; other: message` (at most 10 issues). */
export function formatIssues(issues: ReadonlyArray<StandardSchemaV1.Issue>): string {
  const shown = issues.slice(0, 10).map((issue) => {
    const path = (issue.path ?? [])
      .map((segment) => String(typeof segment === 'object' && segment !== null ? segment.key : segment))
      .join('.');
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  if (issues.length > 10) shown.push(`… ${issues.length - 10} more`);
  return shown.join('; ');
}

/** True when `value` looks like a Standard Schema. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } })['~standard'];
  return props !== undefined && props.version === 1 && typeof props.validate === 'function';
}

/**
 * The JSON Schema of a schema's output where the library offers one (Standard JSON Schema, as
 * zod 4 and others implement it), else `undefined`.
 */
export function jsonSchemaOf(schema: unknown): Record<string, unknown> | undefined {
  const props = (schema as Partial<StandardJSONSchemaV1> | undefined)?.['~standard'];
  const converter = (props as Partial<StandardJSONSchemaV1.Props> | undefined)?.jsonSchema;
  if (converter === undefined || typeof converter.output !== 'function') return undefined;
  try {
    return converter.output({ target: 'draft-2020-12' });
  } catch {
    return undefined;
  }
}
