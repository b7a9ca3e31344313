import type { Command } from 'commander';
import type { Coding } from 'fhir/r4';
import { CliError } from '../../common/cli-error';
import { MIMIC_SYSTEM, SYSTEM } from '../../terminology/code-systems';
import type { MedicationProduct } from '../../terminology/medication-resolver';
import { Terminology } from '../../terminology/terminology';
import type { MedicationClasses } from '../../terminology/terminology.types';

interface LookupOptions {
  rxnorm?: string; ndc?: string; gsn?: string; atc?: string; name?: string; route?: string; strength?: string; mappings: string; json?: boolean;
}

/** `leader terminology lookup`: the ATC classes of one drug and the rule that chose each, so a pharmacist can check it in one line. */
export function register(program: Command): void {
  const terminology = program.command('terminology').description('Look drugs up in the project terminology (fhir-mappings/)');
  terminology
    .command('lookup')
    .description('ATC classes of a drug (by RxNorm, NDC, GSN or ATC code and/or name, with route and strength) and the rule that chose each')
    .option('--rxnorm <rxcui>', 'RxNorm RXCUI')
    .option('--ndc <ndc>', 'NDC (11 digits or hyphenated 10)')
    .option('--gsn <gsn>', 'First Databank GSN (MIMIC)')
    .option('--atc <code>', 'ATC code')
    .option('--name <text>', 'drug name, e.g. an RxNorm normalised name "Naproxen 250 MG Oral Tablet"')
    .option('--route <route>', 'route: a MIMIC code (PO, IV, TP, OU, IH, …) or words ("oral", "ophthalmic")')
    .option('--strength <text>', 'strength written apart from the name, e.g. "81mg Tab"')
    .option('--mappings <dir>', 'fhir-mappings folder (LEADER_FHIR_MAPPINGS)', Terminology.defaultDir())
    .option('--json', 'print the result as JSON')
    .action(async (opts: LookupOptions) => {
      const codings: Coding[] = [];
      const add = (system: string, code: string | undefined) => {
        if (code === undefined) return;
        if (code.trim() === '') throw new CliError(`terminology lookup: an empty code was given`);
        codings.push({ system, code: code.trim(), ...(system === SYSTEM.rxnorm && opts.name ? { display: opts.name } : {}) });
      };
      add(SYSTEM.rxnorm, opts.rxnorm);
      add(SYSTEM.ndc, opts.ndc);
      add(MIMIC_SYSTEM.medicationGsn, opts.gsn);
      add(SYSTEM.atc, opts.atc);
      if (codings.length === 0 && !opts.name?.trim()) throw new CliError('terminology lookup: give --rxnorm, --ndc, --gsn, --atc or --name');
      let sut: Terminology;
      try {
        sut = await Terminology.load(opts.mappings);
      } catch (e) {
        throw new CliError(`--mappings ${opts.mappings}: ${(e as Error).message}`);
      }
      const product: MedicationProduct = {
        parts: [{ codings, ...(opts.name?.trim() ? { text: opts.name.trim() } : {}) }],
        ...(opts.route?.trim() ? { route: { codings: [{ system: MIMIC_SYSTEM.medicationRoute, code: opts.route.trim().toUpperCase() }], text: opts.route.trim() } } : {}),
        ...(opts.strength?.trim() ? { strengthText: opts.strength.trim() } : {}),
      };
      const classes = sut.classifyMedication(product);
      if (opts.json) process.stdout.write(`${JSON.stringify(classes, null, 2)}\n`);
      else process.stdout.write(`${formatLookup(classes, sut, opts).join('\n')}\n`);
    });
}

/** One line per class: `Naproxen 250 MG Oral Tablet [oral]: M01A anti-inflammatory and antirheumatic products, non-steroids (M01AE02) by route: …`. */
export function formatLookup(classes: MedicationClasses, terminology: Pick<Terminology, 'atc3Name'>, opts: Pick<LookupOptions, 'rxnorm' | 'ndc' | 'gsn' | 'atc' | 'name'>): string[] {
  const what = opts.name ?? [opts.rxnorm && `RxNorm ${opts.rxnorm}`, opts.ndc && `NDC ${opts.ndc}`, opts.gsn && `GSN ${opts.gsn}`, opts.atc && `ATC ${opts.atc}`].filter(Boolean).join(', ');
  const head = `${what}${classes.route ? ` [${classes.route}]` : ''}`;
  if (classes.classes.length === 0) return [`${head}: not assessed (no code or name maps to an ATC class)`];
  return classes.classes.map((c) => `${head}: ${c.atc3} ${terminology.atc3Name(c.atc3) ?? ''} (${c.atc}) by ${c.rule}: ${c.why}`);
}
