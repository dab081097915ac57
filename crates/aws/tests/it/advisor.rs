//! `advisor::collect_entity` against a mocked IAM client.

use aws_sdk_iam::Client;
use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::operation::generate_service_last_accessed_details::GenerateServiceLastAccessedDetailsOutput;
use aws_sdk_iam::operation::get_service_last_accessed_details::GetServiceLastAccessedDetailsOutput;
use aws_sdk_iam::operation::list_policies_granting_service_access::ListPoliciesGrantingServiceAccessOutput;
use aws_sdk_iam::types::{
    ErrorDetails, JobStatusType, ListPoliciesGrantingServiceAccessEntry,
    PolicyGrantingServiceAccess, PolicyType, ServiceLastAccessed,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use iamsweep_aws::advisor::{AdvisorContext, PollTiming, SESSION_RESTARTS, collect_entity};
use iamsweep_aws::collector::{RESUME_REASON, collect_before};
use iamsweep_aws::pace::Pace;
use iamsweep_aws::retry::RetryPolicy;
use iamsweep_aws::session::Sessions;
use iamsweep_core::model::{EntityKind, EntityRecord, Granularity, Status};

const ARN: &str = "arn:aws:iam::111122223333:role/app";

fn context(iam: Client, attribute: bool) -> AdvisorContext {
    AdvisorContext {
        sessions: Sessions::fixed(iam),
        pace: Pace::new(0.0),
        retry: RetryPolicy::default(),
        poll: PollTiming::default(),
        granularity: Granularity::Service,
        attribute,
        names: Default::default(),
        latency: Default::default(),
    }
}

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules, |config| config
        .retry_config(RetryConfig::disabled()))
}

fn generate() -> Rule {
    mock!(Client::generate_service_last_accessed_details)
        .then_output(|| GenerateServiceLastAccessedDetailsOutput::builder().job_id("job-1").build())
}

fn service(namespace: &str, used: bool) -> ServiceLastAccessed {
    let builder =
        ServiceLastAccessed::builder().service_namespace(namespace).service_name(namespace);
    let builder =
        if used { builder.last_authenticated(DateTime::from_secs(1_700_000_000)) } else { builder };
    builder.build().expect("required fields set")
}

fn details(
    status: JobStatusType,
    services: Vec<ServiceLastAccessed>,
    marker: Option<&str>,
) -> GetServiceLastAccessedDetailsOutput {
    GetServiceLastAccessedDetailsOutput::builder()
        .job_status(status)
        .job_creation_date(DateTime::from_secs(1_700_000_000))
        .job_completion_date(DateTime::from_secs(1_700_000_002))
        .set_services_last_accessed(Some(services))
        .is_truncated(marker.is_some())
        .set_marker(marker.map(str::to_string))
        .build()
        .expect("required fields set")
}

fn throttling() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
             <Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>",
        ),
    )
}

#[tokio::test(start_paused = true)]
async fn a_job_is_polled_until_complete_and_every_page_is_read() {
    let generate = generate();
    let first_page = mock!(Client::get_service_last_accessed_details)
        .match_requests(|request| request.marker().is_none() && request.max_items() == Some(1000))
        .sequence()
        .output(|| details(JobStatusType::InProgress, vec![], None))
        .times(2)
        .output(|| {
            details(
                JobStatusType::Completed,
                vec![service("s3", true), service("ec2", false)],
                Some("page-2"),
            )
        })
        .build();
    let second_page = mock!(Client::get_service_last_accessed_details)
        .match_requests(|request| request.marker() == Some("page-2"))
        .then_output(|| details(JobStatusType::Completed, vec![service("sqs", false)], None));
    let context = context(client(&[&generate, &first_page, &second_page]), false);
    let mut entity = EntityRecord::new(EntityKind::Role, ARN, "app");
    collect_entity(&context, &mut entity).await;
    assert_eq!(entity.status, Status::Ok, "{:?}", entity.error);
    let namespaces: Vec<&str> = entity.services.iter().map(|s| &*s.namespace).collect();
    assert_eq!(namespaces, ["s3", "ec2", "sqs"]);
    assert!(entity.services[0].last_authenticated.is_some());
    assert_eq!(first_page.num_calls(), 3);
    assert_eq!(second_page.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_job_ends_the_entity_with_its_error_and_is_not_polled_again() {
    let generate = generate();
    let failed = mock!(Client::get_service_last_accessed_details).then_output(|| {
        let mut output = details(JobStatusType::Failed, vec![], None);
        output.error = Some(
            ErrorDetails::builder().code("ServiceFailure").message("timed out").build().unwrap(),
        );
        output
    });
    let context = context(client(&[&generate, &failed]), false);
    let mut entity = EntityRecord::new(EntityKind::Role, ARN, "app");
    collect_entity(&context, &mut entity).await;
    assert_eq!(entity.status, Status::Error);
    assert_eq!(
        entity.error.as_deref(),
        Some("Access Advisor job `job-1` FAILED: ServiceFailure: timed out")
    );
    assert_eq!(failed.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn throttled_calls_are_retried_and_counted() {
    let generate = mock!(Client::generate_service_last_accessed_details)
        .sequence()
        .http_response(throttling)
        .times(2)
        .output(|| GenerateServiceLastAccessedDetailsOutput::builder().job_id("job-1").build())
        .build();
    let done = mock!(Client::get_service_last_accessed_details)
        .then_output(|| details(JobStatusType::Completed, vec![service("s3", true)], None));
    let context = context(client(&[&generate, &done]), false);
    let mut entity = EntityRecord::new(EntityKind::Role, ARN, "app");
    collect_entity(&context, &mut entity).await;
    assert_eq!(entity.status, Status::Ok, "{:?}", entity.error);
    assert_eq!(generate.num_calls(), 3);
    assert_eq!(context.pace.throttles(), 2);
    assert_eq!(context.pace.calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn an_access_denied_is_not_retried_and_names_the_action() {
    let denied = mock!(Client::generate_service_last_accessed_details).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User \
                 is not authorized to perform: iam:GenerateServiceLastAccessedDetails</Message>\
                 </Error><RequestId>1</RequestId></ErrorResponse>",
            ),
        )
    });
    let context = context(client(&[&denied]), false);
    let mut entity = EntityRecord::new(EntityKind::Role, ARN, "app");
    collect_entity(&context, &mut entity).await;
    assert_eq!(entity.status, Status::Error);
    let error = entity.error.unwrap();
    assert!(error.starts_with("iam:GenerateServiceLastAccessedDetails on `arn:aws:iam::111122223333:role/app`: AccessDenied"), "{error}");
    assert_eq!(denied.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn attribution_asks_for_at_most_200_namespaces_a_call() {
    let generate = generate();
    let services: Vec<ServiceLastAccessed> =
        (0..450).map(|n| service(&format!("svc{n:03}"), false)).collect();
    let done = mock!(Client::get_service_last_accessed_details)
        .then_output(move || details(JobStatusType::Completed, services.clone(), None));
    let granting = mock!(Client::list_policies_granting_service_access)
        .match_requests(|request| request.service_namespaces().len() <= 200)
        .then_compute_output(|request| {
            let entries = request
                .service_namespaces()
                .iter()
                .map(|namespace| {
                    ListPoliciesGrantingServiceAccessEntry::builder()
                        .service_namespace(namespace)
                        .policies(
                            PolicyGrantingServiceAccess::builder()
                                .policy_name("AdministratorAccess")
                                .policy_type(PolicyType::Managed)
                                .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            ListPoliciesGrantingServiceAccessOutput::builder()
                .set_policies_granting_service_access(Some(entries))
                .is_truncated(false)
                .build()
                .unwrap()
        });
    let context = context(client(&[&generate, &done, &granting]), true);
    let mut entity = EntityRecord::new(EntityKind::Role, ARN, "app");
    collect_entity(&context, &mut entity).await;
    assert_eq!(entity.status, Status::Ok, "{:?}", entity.error);
    assert_eq!(granting.num_calls(), 3, "450 namespaces: 200 + 200 + 50");
    assert!(
        entity
            .services
            .iter()
            .all(|service| service.granted_by.as_ref().is_some_and(|p| p.len() == 1))
    );
}

fn expired_token() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(403).unwrap(),
        SdkBody::from(
            "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The \
             security token included in the request is expired</Message></Error>\
             <RequestId>1</RequestId></ErrorResponse>",
        ),
    )
}

// Regression: an expired session was a permanent error, and an account audit longer than the
// session lost every remaining entity to `error`.
#[tokio::test(start_paused = true)]
async fn an_expired_session_starts_the_job_over_with_a_fresh_session() {
    let generate = mock!(Client::generate_service_last_accessed_details)
        .sequence()
        .output(|| GenerateServiceLastAccessedDetailsOutput::builder().job_id("job-1").build())
        .output(|| GenerateServiceLastAccessedDetailsOutput::builder().job_id("job-2").build())
        .build();
    // job-1's session expired before it was read; job-2 is read by the session that started it.
    let expired = mock!(Client::get_service_last_accessed_details)
        .match_requests(|request| request.job_id() == Some("job-1"))
        .then_http_response(expired_token);
    let done = mock!(Client::get_service_last_accessed_details)
        .match_requests(|request| request.job_id() == Some("job-2"))
        .then_output(|| details(JobStatusType::Completed, vec![service("s3", true)], None));
    let context = context(client(&[&generate, &expired, &done]), false);
    let mut entity = EntityRecord::new(EntityKind::Role, ARN, "app");
    collect_entity(&context, &mut entity).await;
    assert_eq!(entity.status, Status::Ok, "{:?}", entity.error);
    assert_eq!(entity.services.len(), 1);
    assert_eq!((generate.num_calls(), expired.num_calls(), done.num_calls()), (2, 1, 1));
    assert_eq!(context.sessions.opened().await, 2);
}

#[tokio::test(start_paused = true)]
async fn sessions_that_always_expire_end_the_entity_instead_of_looping() {
    let generate = generate();
    let expired =
        mock!(Client::get_service_last_accessed_details).then_http_response(expired_token);
    let context = context(client(&[&generate, &expired]), false);
    let mut entity = EntityRecord::new(EntityKind::Role, ARN, "app");
    collect_entity(&context, &mut entity).await;
    assert_eq!(entity.status, Status::Error);
    let error = entity.error.unwrap();
    assert!(error.contains("ExpiredToken") && error.contains("started over 3 times"), "{error}");
    assert_eq!(generate.num_calls(), SESSION_RESTARTS as usize + 1);
}

// Regression: a job was polled for up to 15 minutes, past any Lambda deadline.
#[tokio::test(start_paused = true)]
async fn a_job_that_never_finishes_stops_at_the_deadline_and_is_left_for_the_next_run() {
    let generate = generate();
    let running = mock!(Client::get_service_last_accessed_details)
        .then_output(|| details(JobStatusType::InProgress, vec![], None));
    let context = context(client(&[&generate, &running]), false);
    let mut entity = EntityRecord::new(EntityKind::Role, ARN, "app");
    let start = tokio::time::Instant::now();
    let deadline = start + std::time::Duration::from_secs(60);
    collect_before(&context, &mut entity, Some(deadline)).await;
    // Virtual time: the collection ended at the deadline, not at the 15-minute poll timeout.
    assert_eq!(tokio::time::Instant::now(), deadline);
    assert_eq!(entity.status, Status::Skipped);
    assert_eq!(entity.skip_reason.as_deref(), Some(RESUME_REASON));
    assert_eq!(entity.error, None);
    assert!(entity.services.is_empty());
    assert!(running.num_calls() >= 2, "polled while time remained");
}

#[tokio::test(start_paused = true)]
async fn a_deadline_that_is_not_reached_changes_nothing() {
    let generate = generate();
    let done = mock!(Client::get_service_last_accessed_details)
        .then_output(|| details(JobStatusType::Completed, vec![service("s3", true)], None));
    let context = context(client(&[&generate, &done]), false);
    let mut entity = EntityRecord::new(EntityKind::Role, ARN, "app");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    collect_before(&context, &mut entity, Some(deadline)).await;
    assert_eq!(entity.status, Status::Ok, "{:?}", entity.error);
    assert_eq!(entity.services.len(), 1);
}
