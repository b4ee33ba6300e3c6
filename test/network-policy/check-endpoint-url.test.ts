import { describe, expect, test } from 'vitest';

import { DEFAULT_NETWORK_POLICY, checkEndpointUrl, parseNetworkPolicy } from '../../src/dispatch/network-policy.js';

// [url, null when it may be saved, else a fragment of the reason]
const URL_VERDICTS: ReadonlyArray<readonly [string, string | null]> = [
  ['https://hooks.example.com/reghook', null],
  ['http://hooks.example.com:8080/a?b=c', null],
  ['https://93.184.216.34/hook', null],
  ['https://[2606:4700::1111]/hook', null],
  ['http://[::ffff:93.184.216.34]/', null],
  // every spelling of loopback the WHATWG parser turns into 127.0.0.1
  ['http://127.0.0.1/', 'loopback address 127.0.0.1'],
  ['http://2130706433/', 'loopback address 127.0.0.1'],
  ['http://0x7f000001/', 'loopback address 127.0.0.1'],
  ['http://0x7f.1/', 'loopback address 127.0.0.1'],
  ['http://0177.0.0.1/', 'loopback address 127.0.0.1'],
  ['http://017700000001/', 'loopback address 127.0.0.1'],
  ['http://127.1/', 'loopback address 127.0.0.1'],
  ['http://127.0.1/', 'loopback address 127.0.0.1'],
  ['http://127.0.0.1./', 'loopback address 127.0.0.1'],
  ['http://%31%32%37.0.0.1/', 'loopback address 127.0.0.1'],
  ['http://１２７.0.0.1/', 'loopback address 127.0.0.1'],
  ['http://[::1]:8080/', 'loopback address ::1'],
  ['http://[0:0:0:0:0:0:0:1]/', 'loopback address ::1'],
  ['http://[::ffff:127.0.0.1]/', 'IPv4-mapped address ::ffff:7f00:1 carries loopback address 127.0.0.1'],
  ['http://[::ffff:7f00:1]/', 'carries loopback address 127.0.0.1'],
  ['http://[64:ff9b::10.0.0.1]/', 'NAT64 (RFC 6052) address 64:ff9b::a00:1 carries private (RFC 1918) address 10.0.0.1'],
  ['http://[2002:a9fe:a9fe::]/', '6to4 address 2002:a9fe:a9fe:: carries cloud metadata (link-local) address 169.254.169.254'],
  ['http://0/', 'unspecified ("this network") address 0.0.0.0'],
  ['http://[::]/', 'unspecified address ::'],
  ['http://169.254.169.254/latest/meta-data/', 'cloud metadata (link-local) address 169.254.169.254'],
  ['http://0xa9fea9fe/', 'cloud metadata (link-local) address 169.254.169.254'],
  ['http://10.0.0.1/', 'private (RFC 1918) address 10.0.0.1'],
  ['http://192.168.0.1/', 'private (RFC 1918) address'],
  ['http://[fd00::1]/', 'unique local (ULA) address'],
  ['http://[fe80::1]/', 'link-local address'],
  ['http://localhost:3000/', 'localhost names the loopback address 127.0.0.1'],
  ['http://LOCALHOST./', 'names the loopback address'],
  ['http://api.localhost/', 'names the loopback address'],
  // shape of the URL
  ['ftp://hooks.example.com/', 'URL scheme "ftp" is not allowed'],
  ['file:///etc/passwd', 'URL scheme "file" is not allowed'],
  ['gopher://127.0.0.1:6379/_FLUSHALL', 'URL scheme "gopher" is not allowed'],
  ['javascript:alert(1)', 'URL scheme "javascript" is not allowed'],
  ['https://user:secret@hooks.example.com/', 'must not contain a user name or password'],
  ['https://user@hooks.example.com/', 'must not contain a user name or password'],
  ['/relative/path', 'not a valid absolute URL'],
  ['http://[fe80::1%25eth0]/', 'not a valid absolute URL'],
  [`https://hooks.example.com/${'a'.repeat(2049 - 'https://hooks.example.com/'.length)}`, 'longer than 2048 characters'],
];

describe('checkEndpointUrl with the default policy', () => {
  test.each(URL_VERDICTS)('%s → %s', (url, expected) => {
    const verdict = checkEndpointUrl(DEFAULT_NETWORK_POLICY, url);
    if (expected === null) expect(verdict).toBeNull();
    else expect(verdict).toContain(expected);
  });

  test('a URL of exactly 2048 characters is accepted', () => {
    const url = `https://hooks.example.com/${'a'.repeat(2048 - 'https://hooks.example.com/'.length)}`;
    expect(url).toHaveLength(2048);
    expect(checkEndpointUrl(DEFAULT_NETWORK_POLICY, url)).toBeNull();
  });

  test('hostnames are not resolved at save time (they are checked at connect time)', () => {
    // "localtest.me" resolves to 127.0.0.1 in public DNS; saving it must neither resolve nor refuse.
    expect(checkEndpointUrl(DEFAULT_NETWORK_POLICY, 'http://localtest.me/')).toBeNull();
  });
});

describe('checkEndpointUrl with an allow-list', () => {
  test('127.0.0.0/8 accepts every spelling of IPv4 loopback and localhost, but not [::1]', () => {
    const policy = parseNetworkPolicy('127.0.0.0/8');
    for (const url of ['http://127.0.0.1:3000/', 'http://2130706433/', 'http://0x7f.1/', 'http://[::ffff:127.0.0.1]/', 'http://localhost:3000/']) {
      expect(checkEndpointUrl(policy, url), url).toBeNull();
    }
    expect(checkEndpointUrl(policy, 'http://[::1]/')).toContain('loopback address ::1');
    expect(checkEndpointUrl(policy, 'http://10.0.0.1/')).toContain('private (RFC 1918) address');
  });

  test('true accepts private destinations but still refuses bad schemes and credentials', () => {
    const policy = parseNetworkPolicy('true');
    expect(checkEndpointUrl(policy, 'http://169.254.169.254/')).toBeNull();
    expect(checkEndpointUrl(policy, 'http://[::1]/')).toBeNull();
    expect(checkEndpointUrl(policy, 'ftp://127.0.0.1/')).toContain('scheme');
    expect(checkEndpointUrl(policy, 'http://a:b@127.0.0.1/')).toContain('user name or password');
  });
});
