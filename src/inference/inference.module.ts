import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { StudentModel, type StudentModelOptions } from './student-model';

/** True when the module loaded the model itself and so releases its session at shutdown. */
const OWNS_STUDENT_MODEL = Symbol('OWNS_STUDENT_MODEL');

/**
 * Provides the verified StudentModel (inject the `StudentModel` class). The model is loaded while
 * the app boots, so a bad model folder stops startup with the ModelLoadError's one-line message.
 * Wire it with the configured folder: `InferenceModule.forRoot(config.modelDir)`.
 */
@Global()
@Module({})
export class InferenceModule implements OnApplicationShutdown {
  constructor(
    @Inject(StudentModel) private readonly model: StudentModel,
    @Inject(OWNS_STUDENT_MODEL) private readonly ownsModel: boolean,
  ) {}

  static forRoot(modelDir: string, opts: StudentModelOptions = {}): DynamicModule {
    return {
      module: InferenceModule,
      providers: [
        { provide: StudentModel, useFactory: () => StudentModel.load(modelDir, opts) },
        { provide: OWNS_STUDENT_MODEL, useValue: true },
      ],
      exports: [StudentModel],
    };
  }

  /** An already loaded model (tests, or a caller that loaded it before bootstrapping); not released here. */
  static forModel(model: StudentModel): DynamicModule {
    return {
      module: InferenceModule,
      providers: [{ provide: StudentModel, useValue: model }, { provide: OWNS_STUDENT_MODEL, useValue: false }],
      exports: [StudentModel],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.ownsModel) await this.model.release();
  }
}
