/**
 * Values per key kept for `ttlMs`, loaded many keys at a time; callers asking while a load is in
 * flight share it, and a failed load is not kept. For derived figures that may be a moment old.
 */
export class ShortLivedCache<K, V> {
  private readonly entries = new Map<K, { at: number; value: Promise<V> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async getMany(keys: K[], load: (missing: K[]) => Promise<Map<K, V>>, fallback: V): Promise<Map<K, V>> {
    const now = this.now();
    const wanted = [...new Set(keys)];
    const missing = wanted.filter((k) => {
      const entry = this.entries.get(k);
      return !entry || now - entry.at >= this.ttlMs;
    });
    if (missing.length) {
      const loaded = load(missing);
      for (const key of missing) {
        const value = loaded.then((m) => (m.has(key) ? m.get(key)! : fallback));
        this.entries.delete(key);
        this.entries.set(key, { at: now, value });
        value.catch(() => {
          if (this.entries.get(key)?.value === value) this.entries.delete(key);
        });
      }
    }
    const pending = wanted.map((key) => [key, this.entries.get(key)!.value] as const);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const out = new Map<K, V>();
    for (const [key, value] of pending) out.set(key, await value);
    return out;
  }

  forget(key?: K): void {
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }
}
