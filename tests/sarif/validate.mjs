#!/usr/bin/env node
// validate.mjs - checks SARIF logs written by flowc.
//
// usage: node validate.mjs FILE.sarif...   (run `npm ci` here first)
//
// Every file is checked against the SARIF 2.1.0 JSON schema as shipped in npm
// packages (no network at run time):
//   1. sarif-2.1.0-rtm.5.json from @microsoft/jest-sarif: the schema of the
//      2.1.0 standard, JSON Schema draft-04, validated with ajv-draft-04;
//   2. sarif-2.1.0.json from @microsoft/sarif-multitool-linux (optional
//      dependency, Linux only): the SARIF SDK's copy of the same schema,
//      as JSON Schema 2020-12, validated with Ajv2020;
//   3. if that package is installed, Microsoft's own validator
//      (`Sarif.Multitool validate`) with its SARIF rules and its GitHub code
//      scanning ingestion rules (rule kinds Sarif, Gh, Ghas): its errors fail
//      the check, its warnings are printed.
//      SARIF_MULTITOOL=0 in the environment skips this step.
// Formats ("uri", "uri-reference", "date-time") are checked by ajv-formats.
// Prints each problem; exits 1 if any file is invalid, 2 on bad usage.

import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import Ajv2020 from 'ajv/dist/2020.js';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';

const require = createRequire(import.meta.url);

// Path of a file inside an installed package, or null if it is not installed.
function packageFile(pkg, file) {
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), file);
  } catch {
    return null;
  }
}

function schemaValidator(Ajv, schemaPath) {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  // strict: false because the schemas use keywords ajv's strict mode rejects
  // ("id" next to "$schema" in draft-04, "definitions" under 2020-12);
  // unicodeRegExp: false because the "language" pattern of the schema,
  // "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$", is no valid regex with /u.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

function schemaChecks() {
  const checks = [];
  const rtm5 = packageFile('@microsoft/jest-sarif', 'lib/schemas/sarif-2.1.0-rtm.5.json');
  if (!rtm5 || !existsSync(rtm5)) throw new Error('@microsoft/jest-sarif is not installed: run npm ci');
  checks.push({ name: 'schema sarif-2.1.0-rtm.5 (draft-04)', validate: schemaValidator(AjvDraft04, rtm5) });
  const sdk = packageFile('@microsoft/sarif-multitool-linux', 'sarif-2.1.0.json');
  if (sdk && existsSync(sdk))
    checks.push({ name: 'schema sarif-2.1.0 of the SARIF SDK (2020-12)', validate: schemaValidator(Ajv2020, sdk) });
  return checks;
}

// The Multitool binary, made executable if npm skipped the package's
// postinstall (npm 11 runs install scripts only for approved packages).
// SARIF_MULTITOOL=0 leaves it out (it takes about a second per log).
function multitool() {
  if (process.env.SARIF_MULTITOOL === '0') return null;
  const bin = packageFile('@microsoft/sarif-multitool-linux', 'Sarif.Multitool');
  if (!bin || !existsSync(bin)) return null;
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    chmodSync(bin, 0o755);
  }
  return bin;
}

// The text of a SARIF message, filling in a rule's message string if need be.
function messageText(message, rule) {
  if (message?.text) return message.text;
  const format = rule?.messageStrings?.[message?.id]?.text;
  const args = message?.arguments ?? [];
  if (!format) return args.join(', ');
  return format.replace(/\{(\d+)\}/g, (_, i) => args[Number(i)] ?? '');
}

// Runs `Sarif.Multitool validate` and returns its results of level error.
function multitoolErrors(bin, file) {
  const dir = mkdtempSync(join(tmpdir(), 'sarif-validate-'));
  const out = join(dir, 'validation.sarif');
  try {
    const args = ['validate', file, '--output', out, '--rule-kind', 'Sarif;Gh;Ghas', '--log', 'ForceOverwrite'];
    const r = spawnSync(bin, args, {
      encoding: 'utf8',
      env: { ...process.env, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1', DOTNET_CLI_TELEMETRY_OPTOUT: '1' },
    });
    if (!existsSync(out)) return [`Sarif.Multitool failed (exit ${r.status}): ${r.stdout}${r.stderr}`];
    const log = JSON.parse(readFileSync(out, 'utf8').replace(/^\uFEFF/, ''));
    const problems = [];
    for (const run of log.runs ?? []) {
      for (const n of run.invocations?.flatMap((i) => i.toolExecutionNotifications ?? []) ?? [])
        if (n.level === 'error') problems.push(`error: ${n.message?.text}`);
      const rules = run.tool?.driver?.rules ?? [];
      for (const res of run.results ?? []) {
        // A result without a level has its rule's default level (SARIF 3.27.10).
        const rule = rules[res.ruleIndex ?? -1] ?? rules.find((d) => d.id === res.ruleId);
        const level = res.level ?? rule?.defaultConfiguration?.level ?? 'warning';
        const text = `${level} ${res.ruleId}: ${messageText(res.message, rule)}`;
        if (level === 'error') problems.push(text);
        else console.log(`  (multitool) ${text}`);
      }
    }
    return problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function validateFile(file, checks, bin) {
  let log;
  try {
    log = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    console.log(`${file}: not JSON: ${e.message}`);
    return false;
  }
  let ok = true;
  for (const check of checks) {
    if (check.validate(log)) continue;
    ok = false;
    for (const e of check.validate.errors) console.log(`${file}: ${check.name}: ${e.instancePath || '/'} ${e.message}`);
  }
  if (bin) {
    for (const p of multitoolErrors(bin, resolve(file))) {
      ok = false;
      console.log(`${file}: Sarif.Multitool: ${p}`);
    }
  }
  const ran = checks.map((c) => c.name).concat(bin ? ['Sarif.Multitool validate (Sarif;Gh;Ghas rules)'] : []);
  console.log(`${file}: ${ok ? 'valid' : 'INVALID'} (${ran.join('; ')})`);
  return ok;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs FILE.sarif...');
  process.exit(2);
}
const checks = schemaChecks();
const bin = multitool();
let allOk = true;
for (const f of files) allOk = validateFile(f, checks, bin) && allOk;
process.exit(allOk ? 0 : 1);
