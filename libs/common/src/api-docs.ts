import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { httpErrorName } from './errors';

/*
 * OpenAPI building blocks every controller uses, so that the document has one error shape, one
 * page shape and one wording per status (docs/api.md). The app's document builder adds what
 * can be derived (400 on input, 503 on database routes); routes state the rest.
 */

/** The error body of every 4xx/5xx answer (API.md section 1). */
export class ErrorResponse {
  @ApiProperty({ example: 404 })
  statusCode: number;

  @ApiProperty({ example: 'Not Found' })
  error: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    description: 'What went wrong; validation errors name every offending field (an array of strings).',
    example: 'No such agent',
  })
  message: string | string[];
}

/** `meta` of every paginated list. */
export class PageMeta {
  @ApiProperty({ example: 1, minimum: 1 })
  page: number;

  @ApiProperty({ example: 20, minimum: 1, maximum: 100 })
  limit: number;

  @ApiProperty({ example: 57, minimum: 0 })
  total: number;

  @ApiProperty({ example: 3, minimum: 0 })
  totalPages: number;
}

/** What each error status means wherever it is not said more precisely. */
export const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input: `message` names every offending field; nothing was changed',
  401: 'No token, or an invalid, expired or revoked one',
  403: 'Authenticated, but this caller may not do this',
  404: 'No such thing',
  409: 'Conflicts with the current state; nothing was changed',
  413: 'Request body too large',
  429: 'Rate limited: retry later',
  503: 'Database unavailable (`message: "Database unavailable"`): retry; a retry with the same `clientMessageId` is safe',
};

/**
 * Documents error answers in the contract's shape. `errors` maps a status to what it means here
 * (the default wording when `true`): `@ApiErrors({ 404: 'No such agent', 409: 'Email already in use' })`.
 */
export function ApiErrors(errors: Partial<Record<number, string | true>>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(errors).map(([status, text]) =>
      ApiResponse({
        status: Number(status),
        description: typeof text === 'string' ? text : ERROR_DESCRIPTIONS[Number(status)] ?? httpErrorName(Number(status)),
        type: ErrorResponse,
      }),
    ),
  );
}

const pageClasses = new Map<Type<unknown>, Type<unknown>>();

/**
 * The schema of a paginated list of `model`, named `<Model>Page` in the document:
 * `{ data: Model[], meta: PageMeta }`. One class per model, so names stay unique.
 */
export function PageOf(model: Type<unknown>): Type<unknown> {
  let page = pageClasses.get(model);
  if (!page) {
    class Page {
      @ApiProperty({ type: [model] })
      data: unknown[];

      @ApiProperty({ type: PageMeta })
      meta: PageMeta;
    }
    Object.defineProperty(Page, 'name', { value: `${schemaName(model)}Page` });
    page = Page;
    pageClasses.set(model, page);
  }
  return page;
}

/** 200 with a paginated list of `model`. */
export function ApiPage(model: Type<unknown>, description = 'One page of the list, with `meta` for paging'): MethodDecorator {
  return applyDecorators(ApiExtraModels(model), ApiResponse({ status: 200, description, type: PageOf(model) }));
}

function schemaName(model: Type<unknown>): string {
  // @ApiSchema({ name }) renames a class in the document; page names follow the documented name.
  const meta = Reflect.getMetadata?.('swagger/apiSchema', model) as { name?: string }[] | undefined;
  return meta?.[meta.length - 1]?.name ?? model.name;
}

export { getSchemaPath };
