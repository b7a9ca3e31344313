import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Bundle, MedicationRequest, Patient } from 'fhir/r4';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createApp } from '../../src/app.factory';
import { createLogger } from '../../src/common/logger';
import { loadAppConfig } from '../../src/config/app-config';
import { sharedServingData } from '../support/cds-test-app';
import { type EhrProcess, startEhrProcess } from '../support/ehr-process';
import { repoRoot, runLeader } from '../support/leader-cli';
import { describeWithShared, SHARED_DATA } from '../support/shared-data';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(repoRoot, 'out', 'screenshots', 'smart');
const READ_ONLY_CLIENT = 'leader-cds-read-only';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Shown { atc3: string; percent: string; badges: string[] }

/**
 * The SMART app in Debian's chromium against `leader ehr` loaded with the MIMIC-IV demo: EHR launch,
 * standalone launch, a card's smart link, a grant without MedicationRequest.c, an expired token.
 */
describeWithShared(path.join(SHARED_DATA, 'mimic-iv-demo-2.2'))('SMART app (browser e2e: chromium + leader ehr + MIMIC-IV demo)', () => {
  let tmp: string;
  let browser: Browser;
  let ehr: EhrProcess;
  const apps: INestApplication[] = [];
  let cdsUrl: string;
  let readOnlyUrl: string;
  let patient: string;

  async function startCds(port: number, env: Record<string, string>): Promise<string> {
    const url = `http://127.0.0.1:${port}`;
    const config = loadAppConfig({
      CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: tmp, CDS_PUBLIC_URL: url, LOG_LEVEL: 'silent',
      // The in-memory EHR searches tens of thousands of orders per query: give a busy machine room.
      FHIR_TIMEOUT_MS: '60000', FHIR_DEADLINE_MS: '240000', ...env,
    });
    const { model, terminology } = await sharedServingData();
    const app = await createApp({ config, logger: createLogger('silent'), model, terminology });
    await app.listen(port, '127.0.0.1');
    apps.push(app);
    return url;
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'smart-app-e2e-'));
    const fhir = path.join(tmp, 'fhir');
    const converted = await runLeader(['mimic-to-fhir', '--source', path.join(SHARED_DATA, 'mimic-iv-demo-2.2'), '--out', fhir, '--quiet']);
    if (converted.code !== 0) throw new Error(`mimic-to-fhir failed: ${converted.stderr}`);
    // The median demo patient by number of orders: a typical record, not the largest.
    const orders = new Map<string, number>();
    for (const line of readFileSync(path.join(fhir, 'MedicationRequest.ndjson'), 'utf8').split('\n')) {
      const ref = /"subject":\{"reference":"Patient\/([^"]+)"/.exec(line)?.[1];
      if (ref) orders.set(ref, (orders.get(ref) ?? 0) + 1);
    }
    const ranked = [...orders.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
    patient = ranked[Math.floor(ranked.length / 2)][0];

    const [ehrPort, cdsPort, readOnlyPort] = [await freePort(), await freePort(), await freePort()];
    const fhirBase = `http://127.0.0.1:${ehrPort}/fhir`;
    cdsUrl = await startCds(cdsPort, { SMART_FHIR_SERVERS: fhirBase });
    readOnlyUrl = await startCds(readOnlyPort, { SMART_FHIR_SERVERS: fhirBase, SMART_CLIENT_ID: READ_ONLY_CLIENT });
    // A second registration of the app whose grant lacks MedicationRequest.c (an EHR may grant less than asked).
    const clients = { clients: [{ client_id: READ_ONLY_CLIENT, name: 'Medication review (read only)', type: 'public', launch_url: `${readOnlyUrl}/smart/launch`, redirect_uris: [`${readOnlyUrl}/smart/`],
      scope: 'launch launch/patient openid fhirUser online_access patient/Patient.rs patient/Encounter.rs patient/Condition.rs patient/Procedure.rs patient/MedicationRequest.rs patient/Medication.rs' }] };
    writeFileSync(path.join(tmp, 'clients.json'), JSON.stringify(clients));
    ehr = await startEhrProcess(['--fhir', fhir, '--port', String(ehrPort), '--clients', path.join(tmp, 'clients.json'), '--cds-services', `${cdsUrl}/cds-services`]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  });

  afterAll(async () => {
    await browser?.close();
    await ehr?.stop();
    for (const app of apps) await app.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs a step in a fresh browser context; on failure a screenshot goes to out/screenshots/smart/. */
  async function inBrowser<T>(name: string, viewport: { width: number; height: number }, step: (page: Page, context: BrowserContext) => Promise<T>): Promise<T> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    try {
      return await step(page, context);
    } catch (e) {
      mkdirSync(SHOTS, { recursive: true });
      for (const [i, p] of context.pages().entries()) await p.screenshot({ path: path.join(SHOTS, `failed-${name}-${i}.png`), fullPage: true }).catch(() => undefined);
      throw new Error(`${(e as Error).message}\n(screenshots: ${SHOTS}/failed-${name}-*.png; page text: ${(await page.locator('body').innerText().catch(() => '')).slice(0, 800)})`);
    } finally {
      await context.close();
    }
  }

  /** Through the EHR's login (and patient picker for a standalone launch) to the loaded review page. */
  async function signInAndWait(page: Page, pickPatient?: string): Promise<void> {
    await page.locator('#sign-in').click();
    if (pickPatient) {
      await page.locator(`input[name=patient][value="${pickPatient}"]`).check();
      await page.locator('#choose-patient').click();
    }
    await page.waitForSelector('#content:not([hidden]), #notice:not([hidden])', { timeout: 300_000 });
    const notice = page.locator('#notice:not([hidden])');
    if (await notice.count()) throw new Error(`the app shows: ${await notice.innerText()}`);
  }

  const shownClasses = (page: Page): Promise<Shown[]> => page.$$eval('#class-list > li', (items) => items.map((li) => ({
    atc3: li.getAttribute('data-atc3') ?? '',
    percent: li.querySelector('.prob-text')?.textContent ?? '',
    badges: [...li.querySelectorAll('.badge')].map((b) => b.textContent ?? ''),
  })));

  /** The access token fhirclient keeps in sessionStorage (the test plays the EHR's part with it). */
  async function appToken(page: Page): Promise<{ token: string; fhirBase: string; key: string; encounter?: string }> {
    // A string: this runs in the page, where sessionStorage is.
    return page.evaluate<{ token: string; fhirBase: string; key: string; encounter?: string }>(`(() => {
      const key = JSON.parse(sessionStorage.getItem('SMART_KEY') || '""');
      const state = JSON.parse(sessionStorage.getItem(key) || '{}');
      return { token: state.tokenResponse.access_token, fhirBase: state.serverUrl, key, encounter: state.tokenResponse.encounter };
    })()`);
  }

  it('EHR launch for a MIMIC-IV demo patient: timeline and the order-select classes and probabilities; create draft → FHIR server holds it → feedback stored', async () => {
    await inBrowser('ehr-launch', { width: 1280, height: 800 }, async (page) => {
      await page.goto(`${ehr.url}/ehr/launch?patient=${encodeURIComponent(patient)}&app=${encodeURIComponent(`${cdsUrl}/smart/launch`)}`);
      await signInAndWait(page);
      expect(await page.locator('#visit-list > li').count()).toBeGreaterThan(0);
      expect(await page.locator('#visit-list > li.target details[open]').count()).toBe(1);
      const shown = await shownClasses(page);
      expect(shown.length).toBeGreaterThan(0);
      // EHR launch: the EHR shows its own banner (need_patient_banner false).
      expect(await page.locator('#banner').isHidden()).toBe(true);

      // The order-select hook for the same patient and data (read with the same token, as an EHR sends prefetch).
      const { token, fhirBase, encounter } = await appToken(page);
      expect(encounter).toBeDefined();
      const get = async (q: string) => (await (await fetch(`${fhirBase}/${q}`, { headers: { Authorization: `Bearer ${token}` } })).json()) as Bundle | Patient;
      const prefetch = {
        patient: await get(`Patient/${patient}`),
        encounters: await get(`Encounter?patient=${patient}&_count=1000`),
        conditions: await get(`Condition?patient=${patient}&_count=1000`),
        procedures: await get(`Procedure?patient=${patient}&_count=1000`),
        medicationRequests: await get(`MedicationRequest?patient=${patient}&_include=MedicationRequest:medication&_count=1000`),
        medicationStatements: null,
      };
      const hook = await fetch(`${cdsUrl}/cds-services/leader-medications-order-select`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ hook: 'order-select', hookInstance: '5b0e3c52-8a8e-4a8e-9a51-2b1f0b2f7a10', context: { userId: 'Practitioner/1', patientId: patient, encounterId: encounter, selections: [], draftOrders: { resourceType: 'Bundle', entry: [] } }, prefetch }),
      });
      expect(hook.status).toBe(200);
      const cards = ((await hook.json()) as { cards: { summary: string; detail?: string }[] }).cards;
      const listed = [...cards.map((c) => c.detail ?? '').join('\n').matchAll(/\(ATC ([A-Z]\d\d[A-Z])\): (\d+)%/g)].map((m) => ({ atc3: m[1], percent: `${m[2]}%` }));
      expect(listed.length).toBeGreaterThan(0);
      for (const c of listed) expect(shown.find((s) => s.atc3 === c.atc3)?.percent).toBe(c.percent);

      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, 'app-1280.png') });

      // Create a draft order for the first new class.
      const item = page.locator('#class-list > li', { has: page.locator('button.primary') }).first();
      const atc3 = await item.getAttribute('data-atc3');
      await item.locator('button.primary').click();
      await item.locator('.result', { hasText: 'created in the EHR' }).waitFor({ timeout: 60_000 });
      const created = /MedicationRequest\/([A-Za-z0-9\-.]+)/.exec(await item.locator('.result').innerText())?.[1];
      expect(created).toBeDefined();
      const order = (await get(`MedicationRequest/${created}`)) as unknown as MedicationRequest;
      expect(order).toMatchObject({ status: 'draft', intent: 'proposal', subject: { reference: `Patient/${patient}` } });
      expect(order.medicationCodeableConcept?.coding).toEqual(expect.arrayContaining([expect.objectContaining({ system: 'http://www.whocc.no/atc', code: atc3 })]));
      const feedbackFile = path.join(tmp, 'feedback.jsonl');
      const deadline = Date.now() + 60_000;
      while (!(existsSync(feedbackFile) && readFileSync(feedbackFile, 'utf8').includes(`"acceptedSuggestions":["MedicationRequest/${created}"]`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(readFileSync(feedbackFile, 'utf8')).toContain(`"acceptedSuggestions":["MedicationRequest/${created}"]`);

      // Decline another class with a reason, by keyboard only.
      const other = page.locator('#class-list > li', { has: page.locator('select') }).nth(1);
      const otherAtc3 = await other.getAttribute('data-atc3');
      await other.locator('select').focus();
      await other.locator('select').selectOption('not-indicated');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await other.locator('.result', { hasText: 'Declined' }).waitFor({ timeout: 60_000 });
      const stored = readFileSync(path.join(tmp, 'feedback.jsonl'), 'utf8');
      expect(stored).toContain(`"outcome":"overridden"`);
      expect(stored).toContain(`"atc3":"${otherAtc3}"`);
    });
  });

  it('standalone launch: the EHR\'s patient picker, then the page with a patient banner (400 px side panel)', async () => {
    await inBrowser('standalone', { width: 400, height: 800 }, async (page) => {
      await page.goto(`${cdsUrl}/smart/launch?iss=${encodeURIComponent(ehr.fhirBase)}`);
      await signInAndWait(page, patient);
      expect(await page.locator('#banner').isVisible()).toBe(true);
      expect(await page.locator('#banner').innerText()).toContain(patient);
      expect((await shownClasses(page)).length).toBeGreaterThan(0);
      // Nothing wider than the panel: no sideways scrolling in a 400 px EHR side panel.
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(400);
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, 'app-400.png') });
    });
  });

  it('a grant without MedicationRequest.c: no create button, and the page says why', async () => {
    await inBrowser('read-only', { width: 1280, height: 800 }, async (page) => {
      await page.goto(`${ehr.url}/ehr/launch?patient=${encodeURIComponent(patient)}&app=${encodeURIComponent(`${readOnlyUrl}/smart/launch`)}`);
      await signInAndWait(page);
      expect(await page.locator('#class-list button.primary').count()).toBe(0);
      expect(await page.locator('#create-note').innerText()).toContain('patient/MedicationRequest.c');
      expect(await page.locator('#class-list select').count()).toBeGreaterThan(0);
    });
  });

  it('an expired token is refreshed once; when refresh is impossible the page asks to sign in again', async () => {
    await inBrowser('expired', { width: 1280, height: 800 }, async (page) => {
      await page.goto(`${ehr.url}/ehr/launch?patient=${encodeURIComponent(patient)}&app=${encodeURIComponent(`${cdsUrl}/smart/launch`)}`);
      await signInAndWait(page);
      const { key } = await appToken(page);
      const spoil = (dropRefresh: boolean) => page.evaluate(`(() => {
        const state = JSON.parse(sessionStorage.getItem(${JSON.stringify(key)}));
        state.tokenResponse.access_token = 'expired-or-revoked';
        if (${dropRefresh}) delete state.tokenResponse.refresh_token;
        sessionStorage.setItem(${JSON.stringify(key)}, JSON.stringify(state));
      })()`);
      await spoil(false);
      await page.reload();
      await page.waitForSelector('#content:not([hidden]), #notice:not([hidden])', { timeout: 300_000 });
      expect(await page.locator('#notice').isHidden()).toBe(true);
      expect((await appToken(page)).token).not.toBe('expired-or-revoked');
      await spoil(true);
      await page.reload();
      await page.locator('#notice', { hasText: 'Sign in again' }).waitFor({ timeout: 300_000 });
      expect(await page.locator('#content').isHidden()).toBe(true);
    });
  });

  it('a CDS card\'s smart link, launched through /_services/smart/Launch, opens the app with the card\'s classes highlighted', async () => {
    await inBrowser('card-link', { width: 1280, height: 800 }, async (page, context) => {
      await page.goto(`${ehr.url}/`);
      await page.locator(`button[data-cds="${patient}"]`).click();
      const link = page.locator('#cards .card a.btn', { hasText: 'Review in the medication app' }).first();
      await link.waitFor({ timeout: 300_000 });
      const [app] = await Promise.all([context.waitForEvent('page'), link.click()]);
      await app.waitForLoadState();
      expect(app.url()).toContain('/smart/launch');
      await signInAndWait(app);
      const highlighted = await app.$$eval('#class-list > li.highlighted', (items) => items.map((li) => li.getAttribute('data-atc3')));
      expect(highlighted.length).toBeGreaterThan(0);
      expect(await app.locator('#class-list > li.highlighted .badge.card').count()).toBe(highlighted.length);
    });
  });
});
