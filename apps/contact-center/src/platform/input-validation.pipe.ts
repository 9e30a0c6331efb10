import { ArgumentMetadata, BadRequestException, Injectable, ValidationPipe } from '@nestjs/common';
import { findInputProblem } from '@cc/common';

/**
 * The one validation pipe of both transports: the shared input rules (clean text, bounded
 * depth) on every value a client supplies, before the DTO's own rules (unknown fields refused).
 */
@Injectable()
export class InputValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, forbidNonWhitelisted: true, transform: true });
  }

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      const problem = findInputProblem(value, metadata.type === 'param' ? (metadata.data ?? '') : '');
      if (problem) throw new BadRequestException([problem]);
    }
    return super.transform(value, metadata);
  }
}
