// Unit tests for the office hours form's model: run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpans, formatSpans, parseHolidays, officeBody, officeField, maxOpen } from './office.js';

test('opening hours read as spans, sorted, and back', () => {
  assert.deepEqual(parseSpans('13:30-17:00, 9:00 - 12:30'), {
    spans: [{ from: '09:00', to: '12:30' }, { from: '13:30', to: '17:00' }], error: null,
  });
  assert.deepEqual(parseSpans(''), { spans: [], error: null }, 'closed');
  assert.equal(formatSpans([{ from: '09:00', to: '17:00' }]), '09:00-17:00');
  assert.deepEqual(parseSpans('00:00-24:00').spans, [{ from: '00:00', to: '24:00' }]);
  assert.match(parseSpans('17:00-09:00').error, /before the end/);
  assert.match(parseSpans('9-5').error, /not a time span/);
  assert.match(parseSpans('09:00-12:00, 11:00-13:00').error, /overlap/);
});

test('holidays are real dates, one a line', () => {
  assert.deepEqual(parseHolidays('2026-12-26\n2026-12-25\n2026-12-25'), { dates: ['2026-12-25', '2026-12-26'], errors: [] });
  assert.equal(parseHolidays('2026-02-30').errors.length, 1);
});

test('the form becomes the settings body, with faults named as the server names them', () => {
  const values = {
    time_zone: 'Europe/Warsaw', day0: '09:00-17:00', day1: '', day2: '', day3: '', day4: '', day5: '', day6: '',
    holidays: '2026-12-25', reply_time_in_hours: 'Minutes', reply_time_out_of_hours: 'Tomorrow', automated_messages_per_day: '10',
  };
  const { body, errors } = officeBody(values);
  assert.deepEqual(errors, []);
  assert.equal(body.weekly.length, 7);
  assert.deepEqual(body.weekly[0], [{ from: '09:00', to: '17:00' }]);
  assert.equal(body.automated_messages_per_day, 10);
  const bad = officeBody({ ...values, day3: 'x', automated_messages_per_day: '0', reply_time_in_hours: ' ' });
  assert.deepEqual(bad.errors.map((e) => e.field), ['weekly[3]', 'reply_time_in_hours', 'automated_messages_per_day']);
  assert.equal(officeField('weekly[2][1]'), 'weekly[2]');
  assert.equal(officeField('holidays[4]'), 'holidays');
  assert.equal(officeField('time_zone'), 'time_zone');
  assert.equal(maxOpen(''), null);
  assert.equal(maxOpen('5'), 5);
  assert.equal(maxOpen('-1'), undefined);
});
