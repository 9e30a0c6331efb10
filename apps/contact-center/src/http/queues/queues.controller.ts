import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
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
  create(@Body() dto: CreateQueueDto) {
    return this.queues.create(dto);
  }

  @Get()
  list(@Query() query: PaginationQuery) {
    return this.queues.list(query);
  }

  @Get(':id')
  get(@Param('id', ParseIdPipe) id: number) {
    return this.queues.get(id);
  }

  @Patch(':id')
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateQueueDto) {
    return this.queues.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', ParseIdPipe) id: number) {
    return this.queues.remove(id);
  }

  @Post(':id/members')
  @HttpCode(204)
  addMember(@Param('id', ParseIdPipe) id: number, @Body() dto: AddMemberDto) {
    return this.queues.addMember(id, dto);
  }

  @Delete(':id/members/:agentId')
  @HttpCode(204)
  removeMember(@Param('id', ParseIdPipe) id: number, @Param('agentId', ParseIdPipe) agentId: number) {
    return this.queues.removeMember(id, agentId);
  }
}
