/**
 * On-disk LEADER dataset, schema version 1: written by `leader dataset` (training/dataset.writer.ts),
 * read by the PyTorch trainer (trainer/leader_trainer/dataset.py), `leader teacher` and
 * `leader evaluate`. A golden fixture (test/golden/dataset) pins it across the TS/Python border.
 *
 *   DIR/manifest.json   DatasetManifest
 *   DIR/vocab.json      DatasetVocab
 *   DIR/ddi.json        DatasetDdi
 *   DIR/samples.jsonl   one DatasetSample per line, in id order
 *   DIR/splits/train.txt, val.txt, test.txt   sample ids, one per line
 *
 * The folder is written under a temporary name and renamed when complete; a reader refuses a
 * folder whose manifest is missing or whose schemaVersion differs from DATASET_SCHEMA_VERSION.
 */
import type { VocabularyJson } from '../leader/tensors/vocabulary';
import type { StudentSample } from '../leader/tensors/student-input.types';

export const DATASET_SCHEMA_VERSION = 1;

export type PromptMode = 'fixed' | 'faithful';
export type SplitName = 'train' | 'val' | 'test';

export interface DatasetManifest {
  schemaVersion: typeof DATASET_SCHEMA_VERSION;
  createdAt: string;
  /** What the samples were read from (path or FHIR base URL) and a short description of it. */
  source: { location: string; kind: 'ndjson' | 'bundles' | 'fhir-server'; description?: string };
  /** Licence / attribution of the source data (e.g. ODbL for the MIMIC demos). */
  provenance: { licence?: string; attribution?: string };
  options: {
    perVisit: boolean;
    seed: number;
    topMeds: number | null;
    promptMode: PromptMode;
    maxVisits: number;
    minVisits: number;
    /** Patient split: 'shuffle' (seeded) or 'sequential' (LEADER's unshuffled cut). Added in v1, absent = 'shuffle'. */
    split?: 'shuffle' | 'sequential';
  };
  counts: {
    patients: number;
    samples: number;
    train: number;
    val: number;
    test: number;
    labels: number;
    tokens: number;
    /** Patients not turned into samples, by reason (e.g. `no-visit-with-medication`). */
    skipped: Record<string, number>;
    /** Codes and visits left out of kept samples, by reason (e.g. `target-label-outside-label-space`). Added in v1. */
    dropped?: Record<string, number>;
  };
  /** sha256 of vocab.json, so a model can prove it was trained on this vocabulary. */
  vocabHash: string;
}

/** vocab.json: declared once, where the Vocabulary that writes it lives. */
export type DatasetVocab = VocabularyJson;

export interface DatasetDdi {
  /** Same order as vocab.labels. */
  labels: string[];
  /** Unordered interacting label-index pairs [i, j] with i < j. */
  pairs: [number, number][];
  source: string;
}

export interface DatasetSample {
  /** Stable id: `<patientId>` (one sample per patient) or `<patientId>#<visitIndex>` (--per-visit). */
  id: string;
  patientId: string;
  split: SplitName;
  /** Number of visits the student sees (≤ maxVisits), target visit included. 1 = first-visit patient. */
  visitCount: number;
  /** Teacher prompt text (leader/prompt), built from the same timeline. */
  prompt: string;
  /** Target ATC3 label indices (sorted) and codes. */
  labels: number[];
  labelCodes: string[];
  student: StudentSample;
}
