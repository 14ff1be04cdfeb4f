import { describe, expect, it } from 'vitest';
import { createPortBus } from '../src/platform/index.js';
import { POST_CODE_PORT, PostCodePort, postCodePortStateSchema } from '../src/post-code-port.js';

describe('PostCodePort', () => {
  it('records each code written, the last code and the count', () => {
    const post = new PostCodePort();
    expect(post.lastCode).toBeNull();
    for (const code of [0x01, 0x02, 0xaa]) post.write(0, 1, code);
    expect(post.lastCode).toBe(0xaa);
    expect(post.count).toBe(3);
    expect(Array.from(post.history())).toEqual([0x01, 0x02, 0xaa]);
  });

  it('reads back the last code written, and 0xFF before any write', () => {
    const post = new PostCodePort();
    expect(post.read(0, 1)).toBe(0xff);
    post.write(0, 1, 0x42);
    expect(post.read(0, 1)).toBe(0x42);
  });

  it('keeps only the most recent codes, oldest first, while counting all', () => {
    const post = new PostCodePort({ historySize: 4 });
    for (let code = 1; code <= 6; code++) post.write(0, 1, code);
    expect(Array.from(post.history())).toEqual([3, 4, 5, 6]);
    expect(post.count).toBe(6);
  });

  it('calls onCode with each byte, masked to 8 bits', () => {
    const seen: number[] = [];
    const post = new PostCodePort({ onCode: (code) => seen.push(code) });
    post.write(0, 1, 0x10);
    post.write(0, 1, 0x1ff);
    expect(seen).toEqual([0x10, 0xff]);
  });

  it('sees writes to port 0x80 through the port bus', () => {
    const bus = createPortBus();
    const post = new PostCodePort();
    bus.register(POST_CODE_PORT, 1, post, [1]);
    bus.write(0x80, 1, 0x55);
    expect(bus.read(0x80, 1)).toBe(0x55);
    expect(post.count).toBe(1);
  });

  it('restores last code, count and history from JSON', () => {
    const a = new PostCodePort({ historySize: 3 });
    for (const code of [9, 8, 7, 6]) a.write(0, 1, code);
    const b = new PostCodePort({ historySize: 3 });
    b.restore(postCodePortStateSchema.parse(JSON.parse(JSON.stringify(a.save()))));
    expect(b.lastCode).toBe(6);
    expect(b.count).toBe(4);
    expect(Array.from(b.history())).toEqual([8, 7, 6]);
    b.write(0, 1, 5);
    expect(Array.from(b.history())).toEqual([7, 6, 5]);
  });

  it('refuses a history size below one', () => {
    expect(() => new PostCodePort({ historySize: 0 })).toThrow(RangeError);
  });
});
