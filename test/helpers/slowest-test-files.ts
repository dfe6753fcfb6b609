/** Prints the ten test files that took longest, from vitest's JSON report: where `npm test`'s time goes (.ci/run). */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface VitestReport {
  testResults?: Array<{ name: string; startTime: number; endTime: number }>;
}

const [reportFile = ''] = process.argv.slice(2);
let report: VitestReport = {};
try {
  report = JSON.parse(readFileSync(reportFile, 'utf8')) as VitestReport;
} catch (error) {
  console.log(`slowest test files: no report to read (${(error as Error).message})`);
}
const files = (report.testResults ?? [])
  .map((file) => ({ name: relative(process.cwd(), file.name), seconds: (file.endTime - file.startTime) / 1000 }))
  .filter((file) => Number.isFinite(file.seconds))
  .sort((a, b) => b.seconds - a.seconds);
if (files.length > 0) {
  const total = files.reduce((sum, file) => sum + file.seconds, 0);
  console.log(`\nslowest test files (of ${files.length}, ${total.toFixed(0)} s summed across workers):`);
  for (const file of files.slice(0, 10)) console.log(`${file.seconds.toFixed(1).padStart(8)} s  ${file.name}`);
}
