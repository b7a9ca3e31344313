import { Controller, Get, HttpCode, Inject, ServiceUnavailableException } from '@nestjs/common';
import { StudentModel } from '../inference/student-model';
import { Public } from '../cds-hooks/auth/public.decorator';
import { Readiness } from './readiness';

/**
 * Liveness (the process answers) and readiness (warm, and not draining for shutdown: see Readiness).
 * A model that cannot load stops startup, so a running app always has one.
 */
@Controller('health')
@Public()
export class HealthController {
  constructor(
    @Inject(StudentModel) private readonly model: StudentModel,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  ready(): { status: 'ready'; model: string } {
    const state = this.readiness.state;
    if (state === 'draining') throw new ServiceUnavailableException('shutting down: draining in-flight requests');
    if (state === 'warming-up') throw new ServiceUnavailableException('warming up');
    return { status: 'ready', model: `${this.model.manifest.name} ${this.model.manifest.version}` };
  }
}
