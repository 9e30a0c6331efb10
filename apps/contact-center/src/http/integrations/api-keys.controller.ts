import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeysService, ApiKeyView, Auth, CreateApiKeyDto, CreatedApiKeyView } from '@cc/auth';
import { ApiErrors, ApiPage, PaginationQuery } from '@cc/common';
import { ParseIdPipe } from '../parse-id';

@ApiTags('integrations')
@ApiErrors({ 401: true, 403: 'Not an admin (or a connector key)' })
@Controller('api-keys')
@Auth('admin')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API key (the key is shown only in this answer)' })
  @ApiCreatedResponse({ type: CreatedApiKeyView })
  @ApiErrors({ 400: 'Invalid name or role' })
  create(@Body() dto: CreateApiKeyDto) {
    return this.apiKeys.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'List the live API keys (never the keys themselves)' })
  @ApiPage(ApiKeyView)
  list(@Query() query: PaginationQuery) {
    return this.apiKeys.list(query.page, query.limit);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key: refused from now on, on every instance' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrors({ 404: 'No such API key' })
  revoke(@Param('id', ParseIdPipe) id: number) {
    return this.apiKeys.revoke(id);
  }
}
