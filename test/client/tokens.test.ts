import { TokenAllocator } from '../../lib/client/tokens';

describe('TokenAllocator', () => {
  it('counts up from 1 and reuses released tokens only after wrapping', () => {
    const tokens = new TokenAllocator();
    expect([tokens.take(), tokens.take(), tokens.take()]).toEqual([1, 2, 3]);
    tokens.release(2);
    expect(tokens.take()).toBe(4);
    expect(tokens.inUse).toBe(3);
  });

  it('wraps past 0xFFFFFFFF to 1, skipping 0 and tokens in use', () => {
    const tokens = new TokenAllocator(0xfffffffe);
    expect(tokens.take()).toBe(0xfffffffe);
    expect(tokens.take()).toBe(0xffffffff);
    // Wrapped: 1 is free.
    expect(tokens.take()).toBe(1);
    const again = new TokenAllocator(0xffffffff);
    const first = again.take();
    expect(first).toBe(0xffffffff);
    expect(again.take()).toBe(1);
  });

  it('keeps abandoned tokens out of use until their late answer is claimed or forgotten', () => {
    const tokens = new TokenAllocator(0xfffffffe, 2);
    const a = tokens.take(); // 0xfffffffe
    tokens.abandon(a);
    expect(tokens.take()).toBe(0xffffffff);
    expect(tokens.claimAbandoned(a)).toBe(true);
    expect(tokens.claimAbandoned(a)).toBe(false); // one answer per request
    tokens.abandon(0xffffffff);
    tokens.abandon(1);
    tokens.abandon(2); // memory of 2: forgets 0xffffffff, the oldest
    expect(tokens.claimAbandoned(0xffffffff)).toBe(false);
    expect(tokens.take()).toBe(3); // 1 and 2 remembered
  });
});
