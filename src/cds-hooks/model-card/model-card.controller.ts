import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Controller, Get, Inject, NotFoundException, Param, Query, Req, Res } from '@nestjs/common';
import { StudentModel } from '../../inference/student-model';
import type { HttpRequest, HttpResponse } from '../../common/http.types';
import { Public } from '../auth/public.decorator';
import { MODEL_CARD_PLOTS, modelCardOf, renderModelCardHtml } from './model-card.page';

/** /models/{name}: the page card sources link to: provenance, data, metrics, threshold, limits. HTML, or JSON on request. */
@Controller('models')
@Public()
export class ModelCardController {
  constructor(@Inject(StudentModel) private readonly model: StudentModel) {}

  /** The model folder's plots/ (only the known figure names: no path from the URL reaches the disk). */
  private async plotsPresent(): Promise<string[]> {
    const files = await fs.readdir(path.join(this.model.dir, 'plots')).catch(() => [] as string[]);
    return MODEL_CARD_PLOTS.map((p) => p.file).filter((f) => files.includes(f));
  }

  @Get(':name/plots/:file')
  async plot(@Param('name') name: string, @Param('file') file: string, @Res() res: HttpResponse): Promise<void> {
    if (name !== this.model.manifest.name) throw new NotFoundException(`No model '${name}' is served here`);
    if (!(await this.plotsPresent()).includes(file)) throw new NotFoundException(`Model '${name}' has no plot '${file}'`);
    res.status(200).type('image/svg+xml').send(await fs.readFile(path.join(this.model.dir, 'plots', file)));
  }

  @Get(':name')
  async page(@Param('name') name: string, @Query('format') format: string | undefined, @Req() req: HttpRequest, @Res() res: HttpResponse): Promise<void> {
    if (name !== this.model.manifest.name) throw new NotFoundException(`No model '${name}' is served here`);
    const card = modelCardOf(this.model.manifest);
    const wantsJson = format === 'json' || (format !== 'html' && /application\/json/.test(req.headers.accept ?? '') && !/text\/html/.test(req.headers.accept ?? ''));
    if (wantsJson) {
      res.status(200).json(card);
      return;
    }
    res.status(200).type('text/html; charset=utf-8').send(renderModelCardHtml(card, await this.plotsPresent()));
  }
}
