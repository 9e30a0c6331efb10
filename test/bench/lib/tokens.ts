/**
 * Access tokens for users the growth phases seed with SQL (thousands of customers and agents
 * through the API would take minutes): the same claims the server issues (`sub`, `role`, `tv`),
 * signed with the secret the bench gave the server. The server still checks each one in full.
 */
import { sign } from 'jsonwebtoken';

export function mintToken(secret: string, role: 'agent' | 'customer', id: number, tokenVersion = 0): string {
  return sign({ sub: id, role, tv: tokenVersion }, secret, { expiresIn: 3600 });
}
