import { describe, expect, it } from 'vitest';
import {
  decodeHeaderList,
  decodeHeaderValue,
  encodeHeaderList,
  encodeHeaderValue,
} from './header-value.ts';

describe('encodeHeaderValue', () => {
  it.each(['alice@example.com', 'O\'Brien, "Pat" ~ 100%', ''])(
    'passes printable ASCII %j unchanged',
    (value) => {
      expect(encodeHeaderValue(value)).toBe(value);
    },
  );

  it.each([
    ['Zoë Ñandú', '{base64}Wm/DqyDDkWFuZMO6'],
    ['Zoë', '{base64}Wm/Dqw=='],
    ['山田', `{base64}${Buffer.from('山田').toString('base64')}`],
  ])('sends non-ASCII %j as {base64} of the UTF-8 bytes', (value, encoded) => {
    expect(encodeHeaderValue(value)).toBe(encoded);
  });

  it('removes CR, LF, NUL and other control characters before anything else', () => {
    expect(encodeHeaderValue('alice\r\nX-Auth-Request-Groups: admins')).toBe(
      'aliceX-Auth-Request-Groups: admins',
    );
    expect(encodeHeaderValue('al\u0000ice\u007f\t')).toBe('alice');
    // Removing the C1 control leaves plain ASCII, which then passes unchanged.
    expect(encodeHeaderValue('bob\u0085')).toBe('bob');
    expect(encodeHeaderValue('Zoë\u2028\n')).toBe('{base64}Wm/Dqw==');
  });

  it('encodes an ASCII value that looks encoded, so it cannot be decoded as someone else', () => {
    const tricky = '{base64}YWRtaW4=';
    const encoded = encodeHeaderValue(tricky);
    expect(encoded).not.toBe(tricky);
    expect(decodeHeaderValue(encoded)).toBe(tricky);
  });
});

describe('encodeHeaderList', () => {
  it('joins plain elements with commas', () => {
    expect(encodeHeaderList(['shop-operators', 'guest', 'authenticated'])).toBe(
      'shop-operators,guest,authenticated',
    );
    expect(encodeHeaderList([])).toBe('');
  });

  it('encodes an element with a comma or non-ASCII individually, so splitting on "," is safe', () => {
    const encoded = encodeHeaderList(['R&D, Paris', 'Ingénierie', 'ops']);
    expect(encoded).toBe('{base64}UiZELCBQYXJpcw==,{base64}SW5nw6luaWVyaWU=,ops');
    expect(encoded.split(',')).toHaveLength(3);
    expect(decodeHeaderList(encoded)).toEqual(['R&D, Paris', 'Ingénierie', 'ops']);
  });

  it('drops control characters and elements left empty', () => {
    expect(encodeHeaderList(['ops\r\n', '\u0000', 'dev'])).toBe('ops,dev');
  });

  it('encodes elements with surrounding spaces, which a consumer would trim away', () => {
    expect(decodeHeaderList(encodeHeaderList([' padded ', 'x']))).toEqual([' padded ', 'x']);
  });
});

describe('decodeHeaderValue', () => {
  it('round-trips what the encoder produced', () => {
    for (const value of ['alice', 'Zoë Ñandú', '山田 太郎', '{base64}', 'a,b']) {
      expect(decodeHeaderValue(encodeHeaderValue(value))).toBe(value);
    }
  });

  it('refuses values no conforming encoder produces', () => {
    expect(decodeHeaderValue('{base64}not base64!')).toBeNull();
    expect(decodeHeaderValue('{base64}Wm/Dqw')).toBeNull(); // unpadded
    expect(decodeHeaderValue(`{base64}${Buffer.from([0xc3, 0x28]).toString('base64')}`)).toBeNull();
    expect(decodeHeaderValue(`{base64}${Buffer.from('a\r\nb').toString('base64')}`)).toBeNull();
    expect(decodeHeaderValue('a\u0000b')).toBeNull();
  });

  it('decodes lists joined by proxies with ", "', () => {
    expect(decodeHeaderList('ops, {base64}Wm/Dqw==, ,dev')).toEqual(['ops', 'Zoë', 'dev']);
    expect(decodeHeaderList('ops,{base64}@@')).toBeNull();
  });
});
