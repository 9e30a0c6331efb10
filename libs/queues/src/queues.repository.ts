/** For a statement composed by allocation (one round trip under its lock): round-robin bookkeeping of queue `queue`. */
export function markQueueAssignedSql(queue: string, agent: string): string {
  return `UPDATE queues SET last_assigned_agent_id = ${agent} WHERE id = ${queue}`;
}
