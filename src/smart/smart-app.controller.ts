import { Controller, Get, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Public } from '../cds-hooks/auth/public.decorator';
import type { HttpResponse } from '../common/http.types';
import { packageRoot } from '../common/package-root';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { smartAppConfig } from './smart-app.registration';

/** The app's files by URL name (no path from the URL reaches the disk); fhirclient's browser build from node_modules. */
const ASSETS: Record<string, { file: string[]; type: string }> = {
  'launch': { file: ['src', 'smart', 'app', 'launch.html'], type: 'text/html; charset=utf-8' },
  'index.html': { file: ['src', 'smart', 'app', 'index.html'], type: 'text/html; charset=utf-8' },
  'app.js': { file: ['src', 'smart', 'app', 'app.js'], type: 'text/javascript; charset=utf-8' },
  'launch.js': { file: ['src', 'smart', 'app', 'launch.js'], type: 'text/javascript; charset=utf-8' },
  'app.css': { file: ['src', 'smart', 'app', 'app.css'], type: 'text/css; charset=utf-8' },
  'fhir-client.js': { file: ['node_modules', 'fhirclient', 'build', 'fhir-client.min.js'], type: 'text/javascript; charset=utf-8' },
};

/** `/smart/launch` (EHR and standalone launch) and `/smart/` (the medication review page), plain HTML + JS. */
@Public()
@ApiExcludeController()
@Controller('smart')
export class SmartAppController {
  private readonly root = packageRoot();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  index(@Res() res: HttpResponse): Promise<void> {
    return this.send('index.html', res);
  }

  @Get('config.json')
  appConfig(@Res() res: HttpResponse): void {
    res.status(200).setHeader('Cache-Control', 'no-store');
    res.json(smartAppConfig(this.config.smartClientId));
  }

  @Get(':asset')
  asset(@Param('asset') asset: string, @Res() res: HttpResponse): Promise<void> {
    return this.send(asset, res);
  }

  private async send(name: string, res: HttpResponse): Promise<void> {
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) throw new NotFoundException(`No SMART app file '${name}'`);
    const body = await fs.readFile(path.join(this.root, ...asset.file));
    res.status(200).type(asset.type).setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Security-Policy', "default-src 'self'; connect-src *; img-src 'self' data:; frame-ancestors *");
    res.send(body);
  }
}
