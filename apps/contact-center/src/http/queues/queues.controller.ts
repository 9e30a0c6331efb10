import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiPage } from '@cc/common';
import { Queue } from '../../api-docs/schemas.dto';
import { ParseIdPipe } from '../parse-id';
import { PaginationQuery } from '@cc/common';
import { Auth } from '@cc/auth';
import { AddMemberDto, CreateQueueDto, QueuesService, UpdateQueueDto } from '@cc/queues';

@ApiTags('queues')
@Controller('queues')
@Auth('admin')
export class QueuesController {
  constructor(private readonly queues: QueuesService) {}

  @Post()
  @ApiOperation({ summary: 'Create a queue' })
  @ApiBody({ type: CreateQueueDto, examples: { whatsapp: { value: { name: 'whatsapp', strategy: 'least-busy', overflow: 'wait', channels: ['wa'], priority: 10 } } } })
  @ApiResponse({ status: 201, type: Queue })
  @ApiErrors({ 409: 'A queue with that name exists' })
  create(@Body() dto: CreateQueueDto) {
    return this.queues.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'List queues' })
  @ApiPage(Queue)
  list(@Query() query: PaginationQuery) {
    return this.queues.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a queue (members, waiting count)' })
  @ApiResponse({ status: 200, type: Queue })
  @ApiErrors({ 404: 'No such queue' })
  get(@Param('id', ParseIdPipe) id: number) {
    return this.queues.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a queue', description: 'Any field of POST /queues, all optional.' })
  @ApiResponse({ status: 200, type: Queue })
  @ApiErrors({ 404: 'No such queue', 409: 'A queue with that name exists' })
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateQueueDto) {
    return this.queues.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a queue' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors({ 404: 'No such queue', 409: 'Conversations wait in it, or it is the default queue' })
  remove(@Param('id', ParseIdPipe) id: number) {
    return this.queues.remove(id);
  }

  @Post(':id/members')
  @HttpCode(204)
  @ApiOperation({ summary: 'Add an agent to the queue' })
  @ApiBody({ type: AddMemberDto, examples: { member: { value: { agentId: 1 } } } })
  @ApiResponse({ status: 204, description: 'Added' })
  @ApiErrors({ 404: 'No such queue, or No such agent', 409: 'Agent already in queue' })
  addMember(@Param('id', ParseIdPipe) id: number, @Body() dto: AddMemberDto) {
    return this.queues.addMember(id, dto);
  }

  @Delete(':id/members/:agentId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove an agent from the queue' })
  @ApiResponse({ status: 204, description: 'Removed' })
  @ApiErrors({ 404: 'No such queue, or No such agent', 409: 'Agent not in queue' })
  removeMember(@Param('id', ParseIdPipe) id: number, @Param('agentId', ParseIdPipe) agentId: number) {
    return this.queues.removeMember(id, agentId);
  }
}
