//! `deploy/serverless.yml`: a Serverless Framework v3 service deploying the prebuilt zips of
//! `cargo xtask build-all` as package artifacts (nothing is built by the framework), with the same
//! Fivetran role and optional CLOUD_STORAGE bucket as the CloudFormation template.

use std::fmt::Write;

use super::GENERATED_NOTICE;
use super::cloudformation::FIVETRAN_ACCOUNT_ROOT;

/// The logical id the framework gives a function's `AWS::Lambda::Function` resource:
/// `loan-applications` → `LoanDashapplicationsLambdaFunction`.
pub fn function_logical_id(name: &str) -> String {
    let normalized = name.replace('-', "Dash").replace('_', "Underscore");
    let mut chars = normalized.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase()).into_iter();
    format!("{}LambdaFunction", first.chain(chars).collect::<String>())
}

/// The functions' permission to write sync batches into the CLOUD_STORAGE bucket; the framework
/// creates `IamRoleLambdaExecution` only when there are functions.
const CONNECTOR_CLOUD_STORAGE_POLICY: &str = r#"    ConnectorCloudStoragePolicy:
      Type: AWS::IAM::Policy
      Condition: UseCloudStorage
      Properties:
        PolicyName: write-cloud-storage
        Roles:
          - Ref: IamRoleLambdaExecution
        PolicyDocument:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: s3:PutObject
              Resource:
                Fn::Join: ["", [{ "Fn::GetAtt": [CloudStorageBucket, Arn] }, "/*"]]

"#;

/// Renders the service for `connectors` (sorted names).
pub fn render(connectors: &[String]) -> String {
    let mut out = format!(
        r#"# {GENERATED_NOTICE}
#
# Deploys the zips that `cargo xtask build-all` writes to target/release-assets/<connector>-<arch>.zip,
# the names of the release assets too (see README.md):
#   npx osls deploy --param="fivetranExternalId=<External ID from Fivetran>" [--param="architecture=arm64"]
# (osls is the maintained open-source fork of Serverless Framework v3; `serverless@3` works the same.)
service: fivetran-connectors
frameworkVersion: "3"

params:
  default:
    architecture: x86_64
    memorySize: 512
    timeout: 300
    logRetentionInDays: 30
    cloudStorage: "false"
    cloudStorageExpirationDays: 7
    artifactDir: ${{env:LAMBDA_ARTIFACT_DIR, '../target/release-assets'}}

provider:
  name: aws
  runtime: provided.al2023
  architecture: ${{param:architecture}}
  memorySize: ${{param:memorySize}}
  timeout: ${{param:timeout}}
  logRetentionInDays: ${{param:logRetentionInDays}}
  region: ${{opt:region, 'us-east-1'}}

package:
  individually: true
"#
    );
    if connectors.is_empty() {
        out.push_str("\nfunctions: {}\n");
    } else {
        out.push_str("\nfunctions:\n");
        for connector in connectors {
            let _ = write!(
                out,
                "  {connector}:\n\
                 \x20   name: {connector}\n\
                 \x20   description: Fivetran function connector {connector} (Rust).\n\
                 \x20   handler: bootstrap\n\
                 \x20   package:\n\
                 \x20     artifact: ${{param:artifactDir}}/{connector}-${{param:architecture}}.zip\n"
            );
        }
    }

    let _ = write!(
        out,
        r#"
resources:
  Parameters:
    EnableCloudStorage:
      Type: String
      AllowedValues: ["true", "false"]
      Default: "${{param:cloudStorage}}"

  Conditions:
    UseCloudStorage:
      Fn::Equals: [{{ Ref: EnableCloudStorage }}, "true"]

  Resources:
    # The role Fivetran assumes: trusted for Fivetran's account with your External ID, and allowed to
    # invoke exactly the connector functions above.
    FivetranRole:
      Type: AWS::IAM::Role
      Properties:
        Description: Assumed by Fivetran to invoke the connector functions.
        AssumeRolePolicyDocument:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal:
                AWS: {FIVETRAN_ACCOUNT_ROOT}
              Action: sts:AssumeRole
              Condition:
                StringEquals:
                  sts:ExternalId: ${{param:fivetranExternalId}}
"#
    );
    if !connectors.is_empty() {
        out.push_str(
            "        Policies:\n\
             \x20         - PolicyName: invoke-connectors\n\
             \x20           PolicyDocument:\n\
             \x20             Version: \"2012-10-17\"\n\
             \x20             Statement:\n\
             \x20               - Effect: Allow\n\
             \x20                 Action: lambda:InvokeFunction\n\
             \x20                 Resource:\n",
        );
        for connector in connectors {
            let _ = writeln!(
                out,
                "                    - Fn::GetAtt: [{}, Arn]",
                function_logical_id(connector)
            );
        }
    }

    out.push_str(
        r#"
    # Fivetran's S3 sync method (CLOUD_STORAGE), with --param="cloudStorage=true".
    CloudStorageBucket:
      Type: AWS::S3::Bucket
      Condition: UseCloudStorage
      Properties:
        BucketEncryption:
          ServerSideEncryptionConfiguration:
            - ServerSideEncryptionByDefault:
                SSEAlgorithm: AES256
        PublicAccessBlockConfiguration:
          BlockPublicAcls: true
          BlockPublicPolicy: true
          IgnorePublicAcls: true
          RestrictPublicBuckets: true
        LifecycleConfiguration:
          Rules:
            - Id: expire-sync-batches
              Status: Enabled
              ExpirationInDays: ${param:cloudStorageExpirationDays}
"#,
    );
    if !connectors.is_empty() {
        out.push('\n');
        out.push_str(CONNECTOR_CLOUD_STORAGE_POLICY.trim_end());
        out.push('\n');
    }
    out.push_str(
        r#"
    FivetranCloudStoragePolicy:
      Type: AWS::IAM::Policy
      Condition: UseCloudStorage
      Properties:
        PolicyName: read-cloud-storage
        Roles:
          - Ref: FivetranRole
        PolicyDocument:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action:
                - s3:GetObject
                - s3:DeleteObject
              Resource:
                Fn::Join: ["", [{ "Fn::GetAtt": [CloudStorageBucket, Arn] }, "/*"]]

  Outputs:
    FivetranRoleArn:
      Description: Role ARN for Fivetran's setup form.
      Value:
        Fn::GetAtt: [FivetranRole, Arn]
    CloudStorageBucketName:
      Condition: UseCloudStorage
      Description: Bucket for Fivetran's S3 sync method.
      Value:
        Ref: CloudStorageBucket
"#,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_follow_the_framework() {
        assert_eq!(
            function_logical_id("loan-applications"),
            "LoanDashapplicationsLambdaFunction"
        );
        assert_eq!(function_logical_id("github"), "GithubLambdaFunction");
    }

    #[test]
    fn deploys_prebuilt_zips_and_scopes_the_fivetran_role() {
        let text = render(&["github".into(), "loan-applications".into()]);
        assert!(text.contains("frameworkVersion: \"3\""));
        assert!(text.contains("runtime: provided.al2023"));
        assert!(text.contains(
            "artifact: ${param:artifactDir}/loan-applications-${param:architecture}.zip"
        ));
        assert!(text.contains(&format!("AWS: {FIVETRAN_ACCOUNT_ROOT}")));
        assert!(text.contains("- Fn::GetAtt: [GithubLambdaFunction, Arn]"));
        assert!(text.contains("- Fn::GetAtt: [LoanDashapplicationsLambdaFunction, Arn]"));
        assert!(!text.contains("\"*\"") && !text.contains("lambda:*"));
    }
}
