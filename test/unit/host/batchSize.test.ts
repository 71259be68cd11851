import { batchSize } from '../../../dev/host/host';
import { SettingsError } from '../../../shared/config/settingsError';

const OVERRIDE = 'AzureFunctionsJobHost__extensions__queues__batchSize';

describe("the local host's queue batch size", () => {
  it("is host.json's unless the app setting that overrides it in Azure is set", () => {
    expect(batchSize(8, {})).toBe(8);
    expect(batchSize(8, { [OVERRIDE]: ' ' })).toBe(8);
    expect(batchSize(8, { [OVERRIDE]: '1' })).toBe(1);
    expect(batchSize(undefined, { [OVERRIDE]: '32' })).toBe(32);
  });

  it.each(['0', '33', '2.5', 'eight'])('refuses %s naming the setting', (value) => {
    expect(() => batchSize(8, { [OVERRIDE]: value })).toThrow(SettingsError);
    expect(() => batchSize(8, { [OVERRIDE]: value })).toThrow(OVERRIDE);
  });
});
