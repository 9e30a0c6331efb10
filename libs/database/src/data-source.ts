// For the TypeORM CLI (`npm run migration:run`): the app itself builds its DataSource in DatabaseModule.
import { DataSource } from 'typeorm';
import { MIGRATIONS } from './migrations';

export default new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  synchronize: false,
  migrations: MIGRATIONS,
});
