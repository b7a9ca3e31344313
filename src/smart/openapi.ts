import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { SmartModule } from './smart.module';

/** The OpenAPI 3 document of the app API, generated from the controllers and DTOs. */
export function apiDocument(app: INestApplication, version: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('leader-cds recommendations API')
    .setDescription('Medication-class recommendations for SMART on FHIR apps. Send the user\'s SMART access token as `Authorization: Bearer`; the service reads the patient through the named FHIR server (which must be on its allow-list) with that token and never stores it.')
    .setVersion(version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The user\'s SMART access token for fhirServer' }, 'smart')
    .build();
  const document = SwaggerModule.createDocument(app, config, { include: [SmartModule] });
  document.components ??= {};
  document.components.schemas ??= {};
  // The error body of every 4xx: a FHIR R4 OperationOutcome (the parts this service writes).
  document.components.schemas.OperationOutcome = {
    type: 'object',
    required: ['resourceType', 'issue'],
    properties: {
      resourceType: { type: 'string', enum: ['OperationOutcome'] },
      issue: { type: 'array', minItems: 1, items: { type: 'object', required: ['severity', 'code'], properties: { severity: { type: 'string' }, code: { type: 'string' }, diagnostics: { type: 'string' } } } },
    },
  };
  return document;
}

/** Serves the document at `/api/docs` (Swagger UI) and `/api/docs-json`. */
export function serveApiDocs(app: INestApplication, version: string): void {
  SwaggerModule.setup('api/docs', app, apiDocument(app, version), { jsonDocumentUrl: 'api/docs-json' });
}
