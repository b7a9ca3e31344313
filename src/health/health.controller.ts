import { Controller, Get, HttpCode, Inject, OnApplicationShutdown, ServiceUnavailableException } from '@nestjs/common';
import { StudentModel } from '../inference/student-model';
import { Public } from '../cds-hooks/auth/public.decorator';

/**
 * Liveness (the process answers) and readiness (the model is loaded and the app is not shutting
 * down). A model that cannot load stops startup, so a running app always has one.
 */
@Controller('health')
@Public()
export class HealthController implements OnApplicationShutdown {
  private shuttingDown = false;

  constructor(@Inject(StudentModel) private readonly model: StudentModel) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  ready(): { status: 'ready'; model: string } {
    if (this.shuttingDown) throw new ServiceUnavailableException('shutting down');
    return { status: 'ready', model: `${this.model.manifest.name} ${this.model.manifest.version}` };
  }

  onApplicationShutdown(): void {
    this.shuttingDown = true;
  }
}
