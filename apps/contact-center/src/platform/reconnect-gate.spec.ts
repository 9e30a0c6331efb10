import { ReconnectGate } from './reconnect-gate';

describe('ReconnectGate', () => {
  const connections = { pub: true, sub: true };
  const gate = () => new ReconnectGate(() => connections.pub && connections.sub);
  beforeEach(() => Object.assign(connections, { pub: true, sub: true }));

  it('says nothing on the first connect (no loss yet)', () => {
    expect(gate().readyAgain()).toBe(false);
  });

  it('waits for the publisher when the subscriber is back first, then fires once', () => {
    const g = gate();
    Object.assign(connections, { pub: false, sub: false });
    g.markLost();
    g.markLost();
    connections.sub = true;
    expect(g.readyAgain()).toBe(false);
    connections.pub = true;
    expect(g.readyAgain()).toBe(true);
    expect(g.readyAgain()).toBe(false);
  });

  it('fires when only one connection was lost and it is back', () => {
    const g = gate();
    connections.sub = false;
    g.markLost();
    expect(g.readyAgain()).toBe(false);
    connections.sub = true;
    expect(g.readyAgain()).toBe(true);
  });

  it('fires again for a second loss', () => {
    const g = gate();
    g.markLost();
    expect(g.readyAgain()).toBe(true);
    connections.pub = false;
    g.markLost();
    expect(g.readyAgain()).toBe(false);
    connections.pub = true;
    expect(g.readyAgain()).toBe(true);
  });
});
