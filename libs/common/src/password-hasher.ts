import { Inject, Injectable } from '@nestjs/common';
import * as bcrypt from 'bcrypt';
import { APP_CONFIG, AppConfig } from './config';

@Injectable()
export class PasswordHasher {
  // Compared against when the email is unknown, so both failures take the same time.
  private readonly dummyHash: Promise<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.dummyHash = bcrypt.hash('no-such-user', config.bcryptRounds);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.config.bcryptRounds);
  }

  async verify(password: string, hash: string | null): Promise<boolean> {
    return bcrypt.compare(password, hash ?? (await this.dummyHash));
  }
}
