/** The real AWS clients of `cclake doctor`, for the config's region (else the SDK's default chain). */
import { AthenaClient } from '@aws-sdk/client-athena';
import { GlueClient } from '@aws-sdk/client-glue';
import { IAMClient } from '@aws-sdk/client-iam';
import { QuickSightClient } from '@aws-sdk/client-quicksight';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import type { Config } from '../config/schema';
import type { DoctorClients } from './checks';

export function doctorClientsFor(config: Config): DoctorClients {
  const configured = config.aws.region ?? ('s3' in config.lake ? config.lake.s3.region : undefined);
  const r = configured ? { region: configured } : {};
  const sts = new STSClient(r);
  return {
    sts,
    // The bucket may be in another region than the one configured: that is one of the things checked.
    s3: new S3Client({ ...r, followRegionRedirects: true }),
    athena: new AthenaClient(r),
    glue: new GlueClient(r),
    iam: new IAMClient(r),
    quicksight: new QuickSightClient(r),
    quicksightIn: (region) => new QuickSightClient({ region }),
    sns: (region) => new SNSClient(region ? { region } : r),
    credentials: () => sts.config.credentials(),
    region: () => sts.config.region(),
  };
}
