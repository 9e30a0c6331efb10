import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiForbiddenResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ApiKeysService, ApiKeyView, Auth, CreateApiKeyDto, CreatedApiKeyView } from '@cc/auth';
import { PaginationQuery } from '@cc/common';
import { ParseIdPipe } from '../parse-id';
import { PageOf } from './pages';

@ApiTags('integrations')
@ApiUnauthorizedResponse({ description: 'No or bad token' })
@ApiForbiddenResponse({ description: 'Not an admin' })
@Controller('api-keys')
@Auth('admin')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API key (the key is shown only in this answer)' })
  @ApiCreatedResponse({ type: CreatedApiKeyView })
  @ApiBadRequestResponse({ description: 'Invalid name or role' })
  create(@Body() dto: CreateApiKeyDto) {
    return this.apiKeys.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'List the live API keys (never the keys themselves)' })
  @ApiOkResponse({ type: PageOf(ApiKeyView) })
  list(@Query() query: PaginationQuery) {
    return this.apiKeys.list(query.page, query.limit);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key: refused from now on, on every instance' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiNotFoundResponse({ description: 'No such API key' })
  revoke(@Param('id', ParseIdPipe) id: number) {
    return this.apiKeys.revoke(id);
  }
}
