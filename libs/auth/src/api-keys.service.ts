import { Injectable } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { createHash, randomBytes } from 'crypto';
import { IsIn, IsString, Length } from 'class-validator';
import { NotFoundError, paginated, Paginated, UnauthorizedError } from '@cc/common';
import { toIso } from '@cc/database';
import { AuthUser } from './auth-user';
import { ApiKeyRole, ApiKeyRow, ApiKeysRepository } from './api-keys.repository';

/** Every key starts so; anything else after `Bearer ` is taken for a JWT. */
export const API_KEY_PREFIX = 'cck_';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'WhatsApp bridge' })
  @IsString() @Length(1, 200)
  name: string;

  @ApiProperty({ enum: ['admin', 'connector'] })
  @IsIn(['admin', 'connector'])
  role: ApiKeyRole;
}

export class ApiKeyView {
  @ApiProperty() id: number;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ['admin', 'connector'] }) role: ApiKeyRole;
  @ApiProperty({ description: 'The first characters of the key, to tell keys apart' }) prefix: string;
  @ApiProperty() createdAt: string;
}

export class CreatedApiKeyView extends ApiKeyView {
  @ApiProperty({ description: 'The key itself: shown only in this answer' }) key: string;
}

export function isApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

function hashOf(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function view(row: ApiKeyRow): ApiKeyView {
  return { id: row.id, name: row.name, role: row.role, prefix: row.prefix, createdAt: toIso(row.created_at)! };
}

/**
 * API keys (API.md section 14): 32 random bytes, shown once, stored as their SHA-256 (a key has
 * 256 bits of entropy, so a fast hash is enough and a request costs one index probe).
 */
@Injectable()
export class ApiKeysService {
  constructor(private readonly repo: ApiKeysRepository) {}

  async create(dto: CreateApiKeyDto): Promise<CreatedApiKeyView> {
    const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    const row = await this.repo.insert(dto.name, dto.role, hashOf(key), key.slice(0, API_KEY_PREFIX.length + 6));
    return { ...view(row), key };
  }

  async list(page: number, limit: number): Promise<Paginated<ApiKeyView>> {
    const { rows, total } = await this.repo.list(limit, (page - 1) * limit);
    return paginated(rows.map(view), page, limit, total);
  }

  async revoke(id: number): Promise<void> {
    if (!(await this.repo.revoke(id))) throw new NotFoundError('NoSuchApiKey', 'No such API key');
  }

  /** The caller a key stands for: an admin key acts as an admin, a connector key only where connectors are allowed. */
  async authenticate(key: string): Promise<AuthUser> {
    const found = await this.repo.findLive(hashOf(key));
    if (!found) throw new UnauthorizedError();
    return { role: 'admin', id: 0, apiKeyId: found.id, apiKeyRole: found.role };
  }
}
