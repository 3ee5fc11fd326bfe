//! The CloudFormation template `deploy/template.yaml`: one Lambda function per connector, its log
//! group, the Fivetran role that may invoke exactly those functions, and the optional S3 bucket for
//! the `CLOUD_STORAGE` sync method.
//!
//! Plain CloudFormation (no SAM transform), so every linter checks it fully; `sam deploy` and
//! `aws cloudformation deploy` both take it. The code comes from S3 under the release asset names
//! (`<connector>-<arch>.zip`), so the architecture is a parameter like memory and timeout.

use std::fmt::Write;

use super::{GENERATED_NOTICE, pascal_case};

/// Fivetran's AWS account, the principal its role trust policy names.
pub const FIVETRAN_ACCOUNT_ROOT: &str = "arn:aws:iam::834469178297:root";

const FUNCTION_PARAMETERS: &str = r#"  CodeBucket:
    Type: String
    Description: S3 bucket in this region that holds the zips, named <connector>-<arch>.zip as in the releases.
    MinLength: 3
  CodePrefix:
    Type: String
    Description: Key prefix of the zips in CodeBucket, e.g. releases/v1.2.0/ (use a new prefix per release so the functions update).
    Default: ""
  Architecture:
    Type: String
    Description: Lambda architecture of the functions; the zips must be built for it.
    AllowedValues: [x86_64, arm64]
    Default: x86_64
  MemorySize:
    Type: Number
    Description: Memory of each function in MB (CPU share grows with it).
    MinValue: 128
    MaxValue: 10240
    Default: 512
  Timeout:
    Type: Number
    Description: Timeout of each function in seconds; the connectors stop early and return hasMore true before it.
    MinValue: 30
    MaxValue: 900
    Default: 300
  LogRetentionInDays:
    Type: Number
    Description: Days to keep the functions' logs.
    AllowedValues: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
    Default: 30
"#;

const HEADER: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Description: >-
  Fivetran function connectors (Rust, provided.al2023) and the IAM role Fivetran assumes to invoke
  them. See deploy/README.md.

Parameters:
  FivetranExternalId:
    Type: String
    Description: The External ID shown in Fivetran's connection setup form (your Fivetran group id).
    MinLength: 2
    MaxLength: 1224
    AllowedPattern: "[\\w+=,.@:/-]+"
FUNCTION_PARAMETERS  EnableCloudStorage:
    Type: String
    Description: Create an S3 bucket for Fivetran's S3 sync method (CLOUD_STORAGE) and grant the functions and Fivetran access to it.
    AllowedValues: ["true", "false"]
    Default: "false"
  CloudStorageExpirationDays:
    Type: Number
    Description: Days after which objects in the CLOUD_STORAGE bucket expire (Fivetran reads them within minutes).
    MinValue: 1
    Default: 7

Conditions:
  UseCloudStorage: !Equals [!Ref EnableCloudStorage, "true"]

Resources:
  # The role the connector functions run as: write their own logs, and with CLOUD_STORAGE put objects.
  ConnectorExecutionRole:
    Type: AWS::IAM::Role
    Properties:
      Description: Execution role of the Fivetran connector functions.
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
"#;

const CLOUD_STORAGE: &str = r#"
  # Fivetran's S3 sync method: the functions write each batch here, Fivetran reads and deletes it.
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
      OwnershipControls:
        Rules:
          - ObjectOwnership: BucketOwnerEnforced
      LifecycleConfiguration:
        Rules:
          - Id: expire-sync-batches
            Status: Enabled
            ExpirationInDays: !Ref CloudStorageExpirationDays
            AbortIncompleteMultipartUpload:
              DaysAfterInitiation: 1

  CloudStorageBucketPolicy:
    Type: AWS::S3::BucketPolicy
    Condition: UseCloudStorage
    Properties:
      Bucket: !Ref CloudStorageBucket
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: DenyInsecureTransport
            Effect: Deny
            Principal: "*"
            Action: s3:*
            Resource:
              - !GetAtt CloudStorageBucket.Arn
              - !Sub "${CloudStorageBucket.Arn}/*"
            Condition:
              Bool:
                aws:SecureTransport: "false"

  ConnectorCloudStoragePolicy:
    Type: AWS::IAM::Policy
    Condition: UseCloudStorage
    Properties:
      PolicyName: write-cloud-storage
      Roles:
        - !Ref ConnectorExecutionRole
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: s3:PutObject
            Resource: !Sub "${CloudStorageBucket.Arn}/*"

  FivetranCloudStoragePolicy:
    Type: AWS::IAM::Policy
    Condition: UseCloudStorage
    Properties:
      PolicyName: read-cloud-storage
      Roles:
        - !Ref FivetranRole
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action:
              - s3:GetObject
              - s3:DeleteObject
            Resource: !Sub "${CloudStorageBucket.Arn}/*"
"#;

/// Renders the template for `connectors` (sorted names).
pub fn render(connectors: &[String]) -> String {
    let mut out = format!("# {GENERATED_NOTICE}\n");
    // Without connectors the function parameters would be unused (a lint warning).
    let function_parameters = if connectors.is_empty() {
        ""
    } else {
        FUNCTION_PARAMETERS
    };
    out.push_str(&HEADER.replace("FUNCTION_PARAMETERS", function_parameters));
    if !connectors.is_empty() {
        out.push_str(
            "      Policies:\n\
             \x20       - PolicyName: write-logs\n\
             \x20         PolicyDocument:\n\
             \x20           Version: \"2012-10-17\"\n\
             \x20           Statement:\n\
             \x20             - Effect: Allow\n\
             \x20               Action:\n\
             \x20                 - logs:CreateLogStream\n\
             \x20                 - logs:PutLogEvents\n\
             \x20               Resource:\n",
        );
        for connector in connectors {
            let _ = writeln!(
                out,
                "                  - !GetAtt {}LogGroup.Arn",
                pascal_case(connector)
            );
        }
    }

    for connector in connectors {
        let id = pascal_case(connector);
        let _ = write!(
            out,
            r#"
  {id}LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /aws/lambda/{connector}
      RetentionInDays: !Ref LogRetentionInDays

  {id}Function:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: {connector}
      Description: Fivetran function connector {connector} (Rust).
      Runtime: provided.al2023
      Handler: bootstrap
      Architectures:
        - !Ref Architecture
      MemorySize: !Ref MemorySize
      Timeout: !Ref Timeout
      Role: !GetAtt ConnectorExecutionRole.Arn
      LoggingConfig:
        LogGroup: !Ref {id}LogGroup
      Code:
        S3Bucket: !Ref CodeBucket
        S3Key: !Sub "${{CodePrefix}}{connector}-${{Architecture}}.zip"
"#
        );
    }

    let _ = write!(
        out,
        r#"
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
                sts:ExternalId: !Ref FivetranExternalId
"#
    );
    if !connectors.is_empty() {
        out.push_str(
            "      Policies:\n\
             \x20       - PolicyName: invoke-connectors\n\
             \x20         PolicyDocument:\n\
             \x20           Version: \"2012-10-17\"\n\
             \x20           Statement:\n\
             \x20             - Effect: Allow\n\
             \x20               Action: lambda:InvokeFunction\n\
             \x20               Resource:\n",
        );
        for connector in connectors {
            let _ = writeln!(
                out,
                "                  - !GetAtt {}Function.Arn",
                pascal_case(connector)
            );
        }
    }
    out.push_str(CLOUD_STORAGE);

    out.push_str(
        "\nOutputs:\n\
         \x20 FivetranRoleArn:\n\
         \x20   Description: Role ARN for Fivetran's setup form.\n\
         \x20   Value: !GetAtt FivetranRole.Arn\n\
         \x20 Region:\n\
         \x20   Description: Region for Fivetran's setup form.\n\
         \x20   Value: !Ref AWS::Region\n\
         \x20 CloudStorageBucketName:\n\
         \x20   Condition: UseCloudStorage\n\
         \x20   Description: Bucket for Fivetran's S3 sync method.\n\
         \x20   Value: !Ref CloudStorageBucket\n",
    );
    for connector in connectors {
        let id = pascal_case(connector);
        let _ = write!(
            out,
            "  {id}FunctionName:\n\
             \x20   Description: Lambda function name of the {connector} connector, for Fivetran's setup form.\n\
             \x20   Value: !Ref {id}Function\n"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connectors() -> Vec<String> {
        vec!["github".into(), "loan-applications".into()]
    }

    #[test]
    fn one_function_and_log_group_per_connector() {
        let text = render(&connectors());
        for (id, name) in [
            ("Github", "github"),
            ("LoanApplications", "loan-applications"),
        ] {
            assert!(
                text.contains(&format!("  {id}Function:\n    Type: AWS::Lambda::Function")),
                "{id}"
            );
            assert!(text.contains(&format!("FunctionName: {name}\n")), "{name}");
            assert!(
                text.contains(&format!("LogGroupName: /aws/lambda/{name}\n")),
                "{name}"
            );
            assert!(text.contains(&format!(
                "S3Key: !Sub \"${{CodePrefix}}{name}-${{Architecture}}.zip\""
            )));
        }
        assert_eq!(text.matches("Runtime: provided.al2023").count(), 2);
        assert_eq!(text.matches("Handler: bootstrap").count(), 2);
    }

    #[test]
    fn fivetran_role_invokes_exactly_the_connector_functions() {
        let text = render(&connectors());
        let role = &text[text.find("  FivetranRole:").unwrap()..];
        let role = &role[..role.find("\n\n").unwrap()];
        assert!(role.contains(&format!("AWS: {FIVETRAN_ACCOUNT_ROOT}")));
        assert!(role.contains("sts:ExternalId: !Ref FivetranExternalId"));
        assert!(role.contains("Action: lambda:InvokeFunction"));
        let resources: Vec<&str> = role
            .lines()
            .filter(|line| line.trim_start().starts_with("- !GetAtt"))
            .collect();
        assert_eq!(
            resources,
            [
                "                  - !GetAtt GithubFunction.Arn",
                "                  - !GetAtt LoanApplicationsFunction.Arn"
            ]
        );
        // No wildcard grants anywhere except the bucket policy's deny-all-insecure statement.
        for line in text.lines().filter(|line| line.contains("\"*\"")) {
            assert_eq!(line.trim(), "Principal: \"*\"", "{line}");
        }
        assert!(!text.contains("lambda:*") && !text.contains("Resource: \"*\""));
    }

    #[test]
    fn cloud_storage_is_optional_and_least_privilege() {
        let text = render(&connectors());
        assert!(text.contains("UseCloudStorage: !Equals [!Ref EnableCloudStorage, \"true\"]"));
        for resource in [
            "CloudStorageBucket:",
            "ConnectorCloudStoragePolicy:",
            "FivetranCloudStoragePolicy:",
        ] {
            let at = text.find(&format!("  {resource}\n")).unwrap();
            assert!(
                text[at..]
                    .lines()
                    .nth(2)
                    .unwrap()
                    .contains("Condition: UseCloudStorage"),
                "{resource}"
            );
        }
        assert!(text.contains("Action: s3:PutObject"));
        assert!(text.contains("- s3:GetObject\n              - s3:DeleteObject"));
        assert!(text.contains("ExpirationInDays: !Ref CloudStorageExpirationDays"));
    }

    #[test]
    fn outputs_what_fivetran_asks_for() {
        let text = render(&connectors());
        let outputs = &text[text.find("\nOutputs:\n").unwrap()..];
        for output in [
            "FivetranRoleArn:",
            "Region:",
            "GithubFunctionName:",
            "LoanApplicationsFunctionName:",
        ] {
            assert!(outputs.contains(output), "{output}");
        }
    }

    #[test]
    fn no_connectors_still_renders_a_valid_shape() {
        let text = render(&[]);
        assert!(text.contains("FivetranRole:") && !text.contains("lambda:InvokeFunction"));
        assert!(!text.contains("write-logs"));
    }
}
