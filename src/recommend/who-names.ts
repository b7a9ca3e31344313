/**
 * WHO ATC names as a clinician reads them. The terminology stores the WHO index's names in lower
 * case ("… reflux disease (gord)"); the WHO publishes them with sentence case and upper-case
 * acronyms and vitamin letters ("… reflux disease (GORD)").
 */

/** WHO ATC anatomical main groups (level 1), in the WHO's spelling. */
export const ATC_ANATOMICAL_GROUPS: Readonly<Record<string, string>> = {
  A: 'Alimentary tract and metabolism',
  B: 'Blood and blood forming organs',
  C: 'Cardiovascular system',
  D: 'Dermatologicals',
  G: 'Genito urinary system and sex hormones',
  H: 'Systemic hormonal preparations, excluding sex hormones and insulins',
  J: 'Antiinfectives for systemic use',
  L: 'Antineoplastic and immunomodulating agents',
  M: 'Musculo-skeletal system',
  N: 'Nervous system',
  P: 'Antiparasitic products, insecticides and repellents',
  R: 'Respiratory system',
  S: 'Sensory organs',
  V: 'Various',
};

/** Words the WHO writes in upper case (acronyms, roman numerals); `arbs` keeps its plural s. */
const UPPER: Readonly<Record<string, string>> = {
  gord: 'GORD', ace: 'ACE', i: 'I', ii: 'II', iii: 'III', arbs: 'ARBs', hmg: 'HMG', coa: 'CoA', hiv: 'HIV', nsaid: 'NSAID', nsaids: 'NSAIDs',
  dna: 'DNA', rna: 'RNA', tnf: 'TNF', gaba: 'GABA', ppi: 'PPI', hcv: 'HCV', hbv: 'HBV', ssri: 'SSRI', mao: 'MAO', 'x-ray': 'X-ray', 'i.v.': 'I.V.',
};
/** Vitamin letters: "vitamin a and d", "vitamin b1 … b6 and b12", "(vitamin c)", "vitamin b-complex". */
const VITAMIN = /^(a|b\d*|c|d|e|k)$/;

/** Sentence case with the WHO's acronyms and vitamin letters restored; undefined stays undefined. */
export function whoCase(name: string | undefined): string | undefined {
  if (name === undefined || name.trim() === '') return undefined;
  let afterVitamin = false;
  const words = name.trim().split(/(\s+|[(),])/);
  const out = words.map((w) => {
    const lower = w.toLowerCase();
    if (/^\s*$|^[(),]$/.test(w)) return w;
    let word = UPPER[lower] ?? w;
    const [head, ...rest] = lower.split('-');
    if (afterVitamin && VITAMIN.test(head)) word = [head.toUpperCase(), ...rest].join('-');
    if (lower === 'vitamin' || lower === 'vitamins') afterVitamin = true;
    else if (!(lower === 'and' || VITAMIN.test(head))) afterVitamin = false;
    return word;
  });
  const text = out.join('');
  return text[0].toUpperCase() + text.slice(1);
}

/** The anatomical group (ATC level 1) of a class. */
export function anatomicalGroupOf(atc: string): { code: string; name: string } {
  const code = atc.slice(0, 1).toUpperCase();
  return { code, name: ATC_ANATOMICAL_GROUPS[code] ?? `ATC group ${code}` };
}
