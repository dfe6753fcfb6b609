import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { faultMessageSchema, healthMessageSchema, inventoryMessageSchema, measurementMessageSchema, statusMessageSchema, type AgentMessage, type MessageKind } from '../../protocol/index.js';

/**
 * The agent message schemas of `protocol/` compiled to plain JavaScript (zod -> JSON Schema ->
 * ajv), for the collector's hot path: zod walks each message through its schema objects, the
 * compiled function is straight-line code (on the fleet's messages about 1 us against zod's 4,
 * after JSON.parse's 3; bench:ingest prints the gate's cost). zod stays the one source of truth: these are generated from it at
 * start, a corpus test holds the two to the same verdicts and the same accepted message, and a
 * message the compiled check refuses is asked of zod again for its exact error.
 *
 * Not compiled: `report`, whose schema trims the teacher's text and bounds the whole message's
 * size, neither of which JSON Schema can say; it is rare (a person typed it) and goes through zod.
 */
const COMPILED = {
  inventory: inventoryMessageSchema,
  health: healthMessageSchema,
  fault: faultMessageSchema,
  measurement: measurementMessageSchema,
  status: statusMessageSchema,
} as const satisfies Partial<Record<MessageKind, z.ZodType>>;

export type CompiledKind = keyof typeof COMPILED;

export type CompiledCheck = (body: unknown) => body is AgentMessage;

type JsonSchemaNode = Record<string, unknown>;

/**
 * zod's JSON Schema for what a message may look like on the wire ("input": a field with a
 * default may be absent), made to behave as zod parses it:
 * - every object with listed properties gets `additionalProperties: false`, which ajv's
 *   `removeAdditional` turns into zod's stripping of unknown keys (records keep theirs);
 * - a `oneOf` of objects told apart by one constant property (a device's connection `type`) gets
 *   a `discriminator`, so ajv looks only at the matching branch (and strips only by it), and
 *   `type: object`, which the discriminator alone does not enforce.
 */
export function wireSchema(schema: z.ZodType): JsonSchemaNode {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }) as JsonSchemaNode;
  visit(json);
  return json;
}

function visit(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) visit(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as JsonSchemaNode;
  if (schema['type'] === 'object' && typeof schema['properties'] === 'object' && !('additionalProperties' in schema)) schema['additionalProperties'] = false;
  const tag = discriminatorOf(schema['oneOf']);
  if (tag) {
    schema['discriminator'] = { propertyName: tag };
    // ajv applies a discriminator to objects only and lets anything else (null, a string) pass:
    // the union itself must say it is an object.
    schema['type'] ??= 'object';
  }
  for (const value of Object.values(schema)) visit(value);
}

function discriminatorOf(branches: unknown): string | undefined {
  if (!Array.isArray(branches) || branches.length < 2) return undefined;
  const first = (branches[0] as JsonSchemaNode | undefined)?.['properties'] as Record<string, JsonSchemaNode> | undefined;
  if (!first) return undefined;
  return Object.keys(first).find((key) =>
    branches.every((branch: JsonSchemaNode) => {
      const property = (branch['properties'] as Record<string, JsonSchemaNode> | undefined)?.[key];
      return property !== undefined && 'const' in property && Array.isArray(branch['required']) && (branch['required'] as string[]).includes(key);
    }),
  );
}

/**
 * One compiled check per compiled kind. A check that passes has stripped unknown keys and filled
 * defaults in place: the body is then the message as zod would have returned it (keys aside).
 */
export function compileMessageChecks(): ReadonlyMap<MessageKind, CompiledCheck> {
  const ajv = new Ajv2020({
    // As zod: string lengths in code points (an emoji counts 1, as ajv's default), patterns as
    // plain (non-`u`) RegExps.
    unicodeRegExp: false,
    removeAdditional: true,
    useDefaults: true,
    discriminator: true,
    // zod writes each format's pattern beside it; the pattern is what zod checks.
    validateFormats: false,
    allErrors: false,
    strict: true,
    // zod's unions of a type and null (`anyOf`) are what strictTypes would warn about.
    strictTypes: false,
  });
  const checks = new Map<MessageKind, CompiledCheck>();
  for (const [kind, schema] of Object.entries(COMPILED) as Array<[CompiledKind, z.ZodType]>) {
    const validate: ValidateFunction = ajv.compile(wireSchema(schema));
    checks.set(kind, (body: unknown): body is AgentMessage => validate(body));
  }
  return checks;
}
