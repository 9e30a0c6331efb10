import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@cc/common';
import { AllocationPreview } from '../../api-docs/schemas.dto';
import { Auth } from '@cc/auth';
import { AgentsService } from '@cc/agents';
import { Decider } from '@cc/allocation';
import { AllocationPreviewDto } from '@cc/conversations';

@ApiTags('allocation')
@Controller('allocation')
@Auth('admin')
export class AllocationController {
  constructor(
    private readonly decider: Decider,
    private readonly agents: AgentsService,
  ) {}

  /** The agent automatic allocation would pick now; no side effect. 404 "No agent available". */
  @Post('preview')
  @HttpCode(200)
  @ApiOperation({
    summary: 'The agent automatic allocation would pick now (no side effect)',
    description: '`ignoreAvailability: true` also considers members that are logged off, paused or in wrap-up.',
  })
  @ApiBody({ type: AllocationPreviewDto, examples: { whatsapp: { value: { channel: 'wa' } } } })
  @ApiResponse({ status: 200, type: AllocationPreview })
  @ApiErrors({ 404: 'No agent available, or No such queue' })
  async preview(@Body() dto: AllocationPreviewDto) {
    const agentId = await this.decider.preview(dto.channel ?? 'web', dto.queueId, { ignoreAvailability: dto.ignoreAvailability });
    return { agent: await this.agents.get(agentId) };
  }
}
