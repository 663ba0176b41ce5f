import { OpenAPIObject } from '@nestjs/swagger';

/** The shape ErrorBodyFilter writes for every 4xx and 5xx, as an OpenAPI schema. */
const ERROR_BODY_SCHEMA = {
  type: 'object',
  required: ['statusCode', 'error', 'message', 'correlationId'],
  properties: {
    statusCode: { type: 'integer', example: 400 },
    error: { type: 'string', example: 'Bad Request' },
    message: {
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      example: ['limit must not be greater than 500'],
    },
    correlationId: { type: 'string', description: 'also in the x-request-id header and in the logs' },
  },
};

/**
 * Documents the one error shape on every operation: each declared 4xx/5xx response gets the ErrorBody
 * schema, and every operation lists 400 (validation) and 500.
 */
export function documentErrorBody(document: OpenAPIObject): OpenAPIObject {
  document.components = document.components ?? {};
  document.components.schemas = { ...document.components.schemas, ErrorBody: ERROR_BODY_SCHEMA };
  const content = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } };
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path)) {
      if (typeof operation !== 'object' || operation === null || !('responses' in operation)) continue;
      const responses = operation.responses as Record<string, { description?: string; content?: unknown }>;
      responses['400'] ??= { description: 'invalid request (unknown or malformed fields)' };
      responses['500'] ??= { description: 'unexpected error (the message never carries details)' };
      for (const [code, response] of Object.entries(responses)) {
        if (/^[45]\d\d$/.test(code) && !response.content) response.content = content;
      }
    }
  }
  return document;
}
