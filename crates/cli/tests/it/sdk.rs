//! The unmodified AWS SDK for Rust reads iamsim's Access Advisor answers.

use aws_sdk_iam::types::{AccessAdvisorUsageGranularityType, JobStatusType};

use crate::sim::{Sim, scenario};

async fn client(url: &str) -> aws_sdk_iam::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::from_static("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_iam::Client::new(&config)
}

#[tokio::test]
async fn the_sdk_reads_an_action_level_job_and_a_user_boundary() {
    let sim = Sim::builder(scenario("audit.json")).start();
    let iam = client(&sim.url).await;
    let arn = "arn:aws:iam::111122223333:user/alice";
    let job = iam
        .generate_service_last_accessed_details()
        .arn(arn)
        .granularity(AccessAdvisorUsageGranularityType::ActionLevel)
        .send()
        .await
        .expect("generate");
    let job_id = job.job_id().expect("job id");
    let details = loop {
        let details = iam
            .get_service_last_accessed_details()
            .job_id(job_id)
            .send()
            .await
            .expect("get details");
        if details.job_status() != &JobStatusType::InProgress {
            break details;
        }
    };
    assert_eq!(details.job_status(), &JobStatusType::Completed);
    let service = |namespace: &str| {
        details
            .services_last_accessed()
            .iter()
            .find(|service| service.service_namespace() == namespace)
            .unwrap_or_else(|| panic!("{namespace} is granted"))
    };
    assert!(service("s3").last_authenticated().is_some());
    // ec2:Describe* are tracked management actions; s3:GetObject/PutObject are data events,
    // which Access Advisor never tracks.
    assert!(service("ec2").tracked_actions_last_accessed.is_some());
    assert!(service("s3").tracked_actions_last_accessed.is_none());

    iam.create_policy()
        .policy_name("Fence")
        .path("/iamsweep/")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .expect("create policy");
    let fence = "arn:aws:iam::111122223333:policy/iamsweep/Fence";
    iam.put_user_permissions_boundary()
        .user_name("alice")
        .permissions_boundary(fence)
        .send()
        .await
        .expect("put boundary");
    let user = iam.get_user().user_name("alice").send().await.expect("get user");
    let boundary = user.user().and_then(|user| user.permissions_boundary()).expect("boundary");
    assert_eq!(boundary.permissions_boundary_arn(), Some(fence));
}
