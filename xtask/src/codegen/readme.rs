//! `deploy/README.md`: from zero to a working Fivetran connection, with the connector list filled in.

use std::fmt::Write;

use super::GENERATED_NOTICE;

const GUIDE: &str = r#"
## 1. Build or download the zips

Build on Linux x86_64 (the zips are deterministic: the same source gives the same sha256). Each zip is written
twice with the same bytes: `target/lambda/<connector>/bootstrap.zip` (`bootstrap-arm64.zip` for arm64) and
`target/release-assets/<connector>-<arch>.zip` (the release asset name), with `target/release-assets/SHA256SUMS`.

```sh
cargo xtask build-all                  # every connector, x86_64 -> target/lambda/<connector>/bootstrap.zip
cargo xtask build-all --arch arm64     # arm64 -> bootstrap-arm64.zip; needs `rustup target add
                                       # aarch64-unknown-linux-gnu` and `pip install cargo-zigbuild`
cargo xtask build-all --zigbuild       # links against glibc 2.17 instead of the build machine's glibc
```

`build-all` refuses a binary that needs a glibc newer than 2.34 (Amazon Linux 2023, the `provided.al2023`
runtime) or that links OpenSSL, and prints each zip's size and sha256.

Or download `<connector>-<arch>.zip` and `SHA256SUMS` from a GitHub release of this repository and check them
with `sha256sum --check --ignore-missing SHA256SUMS`.

## 2. Start the connection in Fivetran

In Fivetran: **Add connector** -> **AWS Lambda**. Pick a destination schema name. The setup form shows an
**External ID** (your Fivetran group id): copy it; the deployment below needs it. Leave the form open.

## 3. Deploy with CloudFormation (`template.yaml`)

The template creates, per connector, a Lambda function (`provided.al2023`, handler `bootstrap`) and its log
group, plus the role Fivetran assumes: it trusts Fivetran's AWS account (`arn:aws:iam::834469178297:root`) only
with your External ID, and may call `lambda:InvokeFunction` on exactly these functions. The functions' code is
read from S3, named like the release assets, so the architecture is just a parameter.

```sh
REGION=us-east-1
BUCKET=my-artifact-bucket                 # an existing bucket in $REGION
PREFIX=releases/v0.1.0/                   # a new prefix per release, so the functions update
ARCH=x86_64                               # or arm64 (build or download the arm64 zips then)
# target/release-assets/ holds <connector>-<arch>.zip from build-all (or put downloaded release assets there)
aws s3 cp target/release-assets/ "s3://$BUCKET/$PREFIX" --recursive --region "$REGION" \
  --exclude '*' --include "*-$ARCH.zip"
aws cloudformation deploy --region "$REGION" --stack-name fivetran-connectors \
  --template-file deploy/template.yaml --capabilities CAPABILITY_IAM \
  --parameter-overrides FivetranExternalId=<External ID> CodeBucket="$BUCKET" CodePrefix="$PREFIX" \
    Architecture="$ARCH"
aws cloudformation describe-stacks --region "$REGION" --stack-name fivetran-connectors \
  --query 'Stacks[0].Outputs' --output table
```

Other parameters: `MemorySize` (MB, default 512), `Timeout` (seconds, default 300; the connectors return
`hasMore: true` before it), `LogRetentionInDays` (default 30), `EnableCloudStorage` (`true` creates the bucket for
Fivetran's S3 sync method: the functions may `s3:PutObject` into it, Fivetran's role may `s3:GetObject` and
`s3:DeleteObject`, objects expire after `CloudStorageExpirationDays`, default 7). `sam deploy` takes the same
template.

### Or with the Serverless Framework (`serverless.yml`)

The service deploys the zips in `target/release-assets/` as they are (nothing is built by the framework), with the same
functions and Fivetran role:

```sh
cd deploy
npx osls deploy --region us-east-1 --param="fivetranExternalId=<External ID>" \
  [--param="architecture=arm64"] [--param="cloudStorage=true"]
```

`osls` is the maintained fork of Serverless Framework v3; `npx serverless@3` works the same. Set
`LAMBDA_ARTIFACT_DIR` when the zips are elsewhere, e.g. in a folder of downloaded release assets.

## 4. Finish the Fivetran setup form

| field | value |
|---|---|
| External ID | shown by Fivetran (used in step 3) |
| Role ARN | the `FivetranRoleArn` output |
| Lambda function | the `<Connector>FunctionName` output, i.e. the connector's name (below) |
| Region | the `Region` output |
| Sync method | *Direct*; or *AWS S3 bucket* with the `CloudStorageBucketName` output (deployed with `EnableCloudStorage=true`) |
| Secrets | the connector's secrets as a JSON object, see `connectors/<connector>/README.md`; every connector also takes an optional `startDate` (first sync only) |

**Save & Test** runs the setup test: the function checks the credentials with one small request and answers
within seconds. Then start the initial sync; Fivetran calls the function again at once while it answers
`hasMore: true`, then on its schedule.

Logs: CloudWatch log group `/aws/lambda/<connector>`; each call ends with one summary line (rows per table,
pages, retries, bytes, why it stopped).

## 5. Update

Upload the new zips under a new prefix and run the same `aws cloudformation deploy` with the new `CodePrefix`;
or `aws lambda update-function-code --function-name <connector> --s3-bucket "$BUCKET" --s3-key <key>`. The
release workflow (`.github/workflows/release.yml`) can do the latter for you through GitHub's OIDC: set the
repository variable `AWS_DEPLOY_ROLE_ARN` (and `AWS_REGION`, `LAMBDA_ARCH`) and a `production` environment.

Rolling back: a newer build may add fields to the state it returns to Fivetran, and an older build refuses a state
with fields it does not know (`InvalidState`, naming the field) rather than dropping them and losing its place.
To go back to an older version after a newer one has synced, re-sync the connection from scratch in Fivetran (which
clears the state), or deploy forward with a fix instead.

## Least privilege

**For Fivetran** the template grants only `sts:AssumeRole` with your External ID, `lambda:InvokeFunction` on the
connector functions' ARNs (never `*`), and with CLOUD_STORAGE `s3:GetObject`/`s3:DeleteObject` on that bucket's
objects. The functions' own role may write their log groups and, with CLOUD_STORAGE, `s3:PutObject` in the bucket.

**For the person or pipeline that deploys the stack**, prefer a CloudFormation service role: create a role that
CloudFormation assumes (`cloudformation.amazonaws.com`) holding the permissions below, and pass it with
`aws cloudformation deploy --role-arn ...`. The deploying user then needs only `cloudformation:CreateChangeSet`,
`DescribeChangeSet`, `ExecuteChangeSet`, `DescribeStacks`, `DescribeStackEvents`, `GetTemplateSummary` on
`arn:aws:cloudformation:<region>:<account>:stack/fivetran-connectors/*`, `iam:PassRole` on that service role, and
`s3:PutObject` on `arn:aws:s3:::<artifact bucket>/releases/*`. The service role needs:

- `lambda:CreateFunction`, `UpdateFunctionCode`, `UpdateFunctionConfiguration`, `GetFunction`,
  `GetFunctionConfiguration`, `DeleteFunction`, `TagResource`, `ListTags` on
  `arn:aws:lambda:<region>:<account>:function:<connector>` for each connector below;
- `logs:CreateLogGroup`, `DeleteLogGroup`, `PutRetentionPolicy`, `DeleteRetentionPolicy`, `DescribeLogGroups`,
  `TagResource` on `arn:aws:logs:<region>:<account>:log-group:/aws/lambda/<connector>*`;
- `iam:CreateRole`, `DeleteRole`, `GetRole`, `UpdateRole`, `UpdateAssumeRolePolicy`, `PutRolePolicy`,
  `GetRolePolicy`, `DeleteRolePolicy`, `TagRole`, `UntagRole` on `arn:aws:iam::<account>:role/fivetran-connectors-*`
  (the stack names its roles after itself), and `iam:PassRole` on the same, with the condition
  `iam:PassedToService = lambda.amazonaws.com`;
- `s3:GetObject` on `arn:aws:s3:::<artifact bucket>/releases/*`;
- with `EnableCloudStorage=true`: `s3:CreateBucket`, `DeleteBucket`, `PutBucketPolicy`, `DeleteBucketPolicy`,
  `PutEncryptionConfiguration`, `PutBucketPublicAccessBlock`, `PutBucketOwnershipControls`,
  `PutLifecycleConfiguration`, `GetBucket*` on `arn:aws:s3:::fivetran-connectors-*`.

**For the release workflow's deploy job** (code updates only): an IAM role trusted for
`token.actions.githubusercontent.com` with `aud = sts.amazonaws.com` and
`sub = repo:<owner>/<repo>:environment:production`, allowed only `lambda:UpdateFunctionCode` and
`lambda:GetFunction` on the connector functions' ARNs. No long-lived access keys are stored anywhere.
"#;

/// Renders the guide for `connectors` (sorted names).
pub fn render(connectors: &[String]) -> String {
    let mut out = format!(
        "<!-- {GENERATED_NOTICE} -->\n\
         # Deploying the connectors to AWS Lambda\n\n\
         From zero to a working Fivetran connection: build the zips, deploy the functions and the role Fivetran\n\
         assumes, and fill in Fivetran's setup form. Files here: `template.yaml` (CloudFormation),\n\
         `serverless.yml` (Serverless Framework v3), both generated from the `connectors/` folder.\n\n"
    );
    if connectors.is_empty() {
        out.push_str("No connectors yet: add one with `cargo xtask new NAME`, then run `cargo xtask codegen`.\n");
    } else {
        out.push_str("| connector (= Lambda function) | x86_64 zip | arm64 zip | release assets |\n|---|---|---|---|\n");
        for c in connectors {
            let _ = writeln!(
                out,
                "| [`{c}`](../connectors/{c}/README.md) | `target/lambda/{c}/bootstrap.zip` | \
                 `target/lambda/{c}/bootstrap-arm64.zip` | `target/release-assets/{c}-x86_64.zip`, `{c}-arm64.zip` |"
            );
        }
    }
    out.push_str(GUIDE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_connectors_and_the_setup_values() {
        let text = render(&["github".into(), "woocommerce".into()]);
        assert!(text.contains("| [`github`](../connectors/github/README.md) |"));
        for needle in [
            "External ID",
            "FivetranRoleArn",
            "Region",
            "Least privilege",
            "OIDC",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }
}
