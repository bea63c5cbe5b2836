import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../src/index.js';
import { describeNeed } from '../src/scenario.js';

const README = new URL('../README.md', import.meta.url);
const START = '<!-- scenarios:start (generated from SCENARIOS by test/readme.test.ts) -->';
const END = '<!-- scenarios:end -->';

/** The README's scenario table, generated from SCENARIOS. */
function scenarioTable(): string {
  const rows = SCENARIOS.map((scenario) => {
    const needs = scenario.needs.length === 0 ? '—' : scenario.needs.map(describeNeed).join(', ');
    return `| \`${scenario.id}\` | ${needs} | ${scenario.guarantee.replaceAll('|', '\\|')} |`;
  });
  return ['| id | runs when the transport has | guarantee checked |', '| --- | --- | --- |', ...rows].join(
    '\n',
  );
}

/** A Markdown table with cell padding removed (Biome pads README tables when it formats). */
function normalizeTable(table: string): string {
  return table
    .trim()
    .split('\n')
    .map((line) =>
      line
        .trim()
        .split('|')
        .map((cell) => (/^\s*-+\s*$/.test(cell) ? '---' : cell.trim()))
        .join('|'),
    )
    .join('\n');
}

describe('README', () => {
  it('lists every scenario as SCENARIOS defines it (RELAYBUS_UPDATE_DOCS=1 rewrites the table)', () => {
    const text = readFileSync(README, 'utf8');
    const start = text.indexOf(START);
    const end = text.indexOf(END);
    expect(start, 'the README has the scenarios:start marker').toBeGreaterThanOrEqual(0);
    expect(end, 'the README has the scenarios:end marker').toBeGreaterThan(start);
    const current = normalizeTable(text.slice(start + START.length, end));
    const generated = scenarioTable();
    if (current !== normalizeTable(generated) && process.env.RELAYBUS_UPDATE_DOCS === '1') {
      writeFileSync(README, `${text.slice(0, start + START.length)}\n${generated}\n${text.slice(end)}`);
      return;
    }
    expect(current).toBe(normalizeTable(generated));
  });
});
