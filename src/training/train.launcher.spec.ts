import * as path from 'node:path';
import { parseTrainerLine, runTrainer, trainerArgs } from './train.launcher';

describe('train.launcher', () => {
  describe(parseTrainerLine.name, () => {
    it('reads the trainer\'s JSON-lines events and ignores other output', () => {
      expect(parseTrainerLine('{"event":"epoch","epoch":2,"epochs":5,"val_prauc":0.5}')).toEqual({ event: 'epoch', epoch: 2, epochs: 5, val_prauc: 0.5 });
      expect(parseTrainerLine('some stray print')).toBeNull();
      expect(parseTrainerLine('{"no":"event"}')).toBeNull();
      expect(parseTrainerLine('{broken')).toBeNull();
    });
  });

  describe(trainerArgs.name, () => {
    it('builds the module invocation with absolute paths and passes extra flags through', () => {
      expect(trainerArgs({ dataset: 'ds', out: 'm', python: 'python3', epochs: 3, resume: true, teacherFeatures: 'f.bin', extraArgs: ['--seed', '7'] })).toEqual([
        '-m', 'trainer.leader_trainer.train', '--dataset', path.resolve('ds'), '--out', path.resolve('m'),
        '--teacher-features', path.resolve('f.bin'), '--epochs', '3', '--resume', '--seed', '7',
      ]);
    });
  });

  describe(runTrainer.name, () => {
    it('reports the trainer\'s error event and exit code for bad input', async () => {
      const events: string[] = [];
      const r = await runTrainer({ dataset: '/nonexistent/dataset', out: '/tmp/never-written', python: '/usr/bin/python3', onEvent: (e) => events.push(e.event) });
      expect(r.exitCode).toBe(2);
      expect(r.lastError).toMatch(/dataset .*nonexistent\/dataset: no such directory/);
      expect(events).toEqual(['error']);
    });

    it('rejects with a clear message when the interpreter cannot start', async () => {
      await expect(runTrainer({ dataset: 'x', out: 'y', python: '/nonexistent/python3' })).rejects.toThrow(/cannot start the trainer with \/nonexistent\/python3 \(ENOENT\)/);
    });
  });
});
