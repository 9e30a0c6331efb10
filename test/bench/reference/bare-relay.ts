/** Reference (a): a bare Socket.IO relay, no framework, no database. See relay.ts. */
import { startRelay } from './relay';

let nextId = 1;

void startRelay(async (message) => ({ ...message, id: nextId++, createdAt: new Date().toISOString() }));
