//! Decoding of Prometheus API answers and of range-query results into usage samples (pure).

use prometheus_http_query::error::PrometheusError;
use prometheus_http_query::response::PromqlResult;
use serde::Deserialize;

use super::{HistoryConfig, HistoryResource, HistorySample, LoadStats};

/// Why the body of a Prometheus answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The body did not arrive whole.
    #[error(transparent)]
    Body(reqwest::Error),
    /// The body is not the JSON of a Prometheus API response.
    #[error("error decoding response body")]
    Decode(#[source] serde_json::Error),
}

/// The body of a Prometheus API answer.
#[derive(Deserialize)]
#[serde(tag = "status")]
enum Answer {
    #[serde(rename = "success")]
    Success { data: PromqlResult },
    #[serde(rename = "error")]
    Error(PrometheusError),
}

/// Decodes the body of a Prometheus API answer (pure): the result when its `status` is
/// `success`, the server's error when it is `error`.
pub fn decode_answer(
    body: &[u8],
) -> Result<Result<PromqlResult, PrometheusError>, serde_json::Error> {
    Ok(match serde_json::from_slice::<Answer>(body)? {
        Answer::Success { data } => Ok(data),
        Answer::Error(e) => Err(e),
    })
}

/// Hands `sink` every usable sample of a range query's `result` (pure): finite and not
/// negative, labelled by `config`'s namespace, pod and container labels (empty when absent).
/// A result that is not a matrix has none. Counts the series and samples into `stats`.
pub fn range_samples(
    result: PromqlResult,
    resource: HistoryResource,
    config: &HistoryConfig,
    stats: &mut LoadStats,
    sink: &mut impl FnMut(HistorySample),
) {
    let (data, _) = result.into_inner();
    let Some(matrix) = data.into_matrix().ok() else {
        return;
    };
    for series in matrix {
        let (labels, samples) = series.into_inner();
        let label = |name: &str| labels.get(name).cloned().unwrap_or_default();
        let (namespace, pod, container) = (
            label(&config.namespace_label),
            label(&config.pod_label),
            label(&config.container_label),
        );
        stats.series += 1;
        for s in samples {
            if !s.value().is_finite() || s.value() < 0.0 {
                continue;
            }
            stats.samples += 1;
            sink(HistorySample {
                namespace: namespace.clone(),
                pod: pod.clone(),
                container: container.clone(),
                resource,
                timestamp: s.timestamp() as i64,
                value: s.value(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(body: &str) -> (Vec<HistorySample>, LoadStats) {
        let result = decode_answer(body.as_bytes()).unwrap().unwrap();
        let (mut out, mut stats) = (Vec::new(), LoadStats::default());
        let config = HistoryConfig::default();
        range_samples(
            result,
            HistoryResource::Cpu,
            &config,
            &mut stats,
            &mut |s| out.push(s),
        );
        (out, stats)
    }

    #[test]
    fn matrix_samples_keep_labels_and_drop_unusable_values() {
        let (out, stats) = samples(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{"namespace":"ns","pod_name":"p","name":"c"},
                 "values":[[1700000000,"0.5"],[1700003600,"NaN"],[1700007200,"-1"],[1700010800,"+Inf"],[1700014400,"2"]]},
                {"metric":{},"values":[[1700000000.9,"3"]]}]}}"#,
        );
        assert_eq!(stats.series, 2);
        assert_eq!(stats.samples, 3);
        let got: Vec<_> = out
            .iter()
            .map(|s| {
                (
                    s.namespace.as_str(),
                    s.pod.as_str(),
                    s.container.as_str(),
                    s.timestamp,
                    s.value,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("ns", "p", "c", 1_700_000_000, 0.5),
                ("ns", "p", "c", 1_700_014_400, 2.0),
                ("", "", "", 1_700_000_000, 3.0),
            ]
        );
    }

    #[test]
    fn a_vector_has_no_range_samples_and_an_error_status_is_the_servers_error() {
        let (out, stats) = samples(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}"#,
        );
        assert!(out.is_empty());
        assert_eq!(stats, LoadStats::default());
        let error =
            decode_answer(br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#)
                .unwrap()
                .unwrap_err();
        assert!(error.to_string().contains("parse error"), "{error}");
        assert!(decode_answer(b"<html>").is_err());
    }
}
