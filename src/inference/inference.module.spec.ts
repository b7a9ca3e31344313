import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { InferenceModule } from './inference.module';
import { ModelLoadError, StudentModel } from './student-model';

const defaultModel = path.resolve(__dirname, '..', '..', 'models', 'default');

describe(InferenceModule.name, () => {
  it('provides the verified StudentModel of the given folder and releases it at shutdown', async () => {
    const app = await Test.createTestingModule({ imports: [InferenceModule.forRoot(defaultModel)] }).compile();
    const sut = app.get(StudentModel);
    expect(sut.manifest.name).toBe('leader-student-mimic-iv-demo');
    const release = jest.spyOn(sut, 'release');
    await app.close();
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('leaves a model it was given to its owner at shutdown', async () => {
    const model = await StudentModel.load(defaultModel);
    const app = await Test.createTestingModule({ imports: [InferenceModule.forModel(model)] }).compile();
    const release = jest.spyOn(model, 'release');
    await app.close();
    expect(release).not.toHaveBeenCalled();
    await model.release();
  });

  it('fails to boot with the ModelLoadError of a bad folder', async () => {
    await expect(Test.createTestingModule({ imports: [InferenceModule.forRoot('/nonexistent/model')] }).compile())
      .rejects.toThrow(ModelLoadError);
  });
});
