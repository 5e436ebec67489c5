import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatSize, parseDuration, parseRate, parseSize, UnitError } from './units';

test('durations parse', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('30m'), 1_800_000);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('2w'), 14 * 86_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration(' 2h '), 7_200_000);
  assert.equal(parseDuration('0'), 0);
});

test('durations reject garbage', () => {
  for (const bad of ['', 'abc', '10', '1.5', '-1s', '10 s', 's', '1x', '1s2', '1e3ms', 'ms', '10S', '1h 30m', 'NaN']) {
    assert.throws(() => parseDuration(bad), UnitError, bad);
  }
  assert.throws(() => parseDuration('10'), /needs a unit/);
  assert.throws(() => parseDuration('99999999999999999d'), /too large/);
});

test('sizes parse', () => {
  assert.equal(parseSize('512MiB'), 512 * 2 ** 20);
  assert.equal(parseSize('1GiB'), 2 ** 30);
  assert.equal(parseSize('10MB'), 10_000_000);
  assert.equal(parseSize('10mb'), 10_000_000);
  assert.equal(parseSize('64KiB'), 65_536);
  assert.equal(parseSize('1.5KiB'), 1536);
  assert.equal(parseSize('100'), 100);
  assert.equal(parseSize('100B'), 100);
  assert.equal(parseSize('2 TiB'), 2 * 2 ** 40);
});

test('sizes reject garbage', () => {
  for (const bad of ['', 'abc', '-1MiB', '10M', '1G', '1.5', 'MiB', '1XB', '1e9', '10 MiBs']) {
    assert.throws(() => parseSize(bad), UnitError, bad);
  }
  assert.throws(() => parseSize('10M'), /ambiguous/);
});

test('rates parse and reject', () => {
  assert.equal(parseRate('2000MiB/s'), 2000 * 2 ** 20);
  assert.equal(parseRate('1GB/s'), 1e9);
  assert.throws(() => parseRate('2000MiB'), UnitError);
  assert.throws(() => parseRate('fast/s'), UnitError);
});

test('format round-trips', () => {
  for (const ms of [0, 1, 999, 1000, 1500, 60_000, 1_800_000, 3_600_000, 604_800_000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
  assert.equal(formatDuration(604_800_000), '7d');
  assert.equal(formatSize(2 ** 30), '1GiB');
  assert.equal(formatSize(10_000_000), '10MB');
  assert.equal(formatSize(1234), '1234B');
  for (const b of [0, 1, 1024, 1536, 10_000_000, 2 ** 30]) assert.equal(parseSize(formatSize(b)), b);
});
