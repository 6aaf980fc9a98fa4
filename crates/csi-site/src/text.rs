//! Fixed report wording in the languages csi ships (Chinese and English); the
//! study's `language` picks one, English is the fallback.

use std::collections::BTreeMap;

const EN: &[(&str, &str)] = &[
    ("waves", "Waves"),
    ("wave", "Wave"),
    ("fieldwork", "Fieldwork"),
    ("ci", "CI"),
    ("raw_mean", "mean"),
    ("moe", "margin of error"),
    ("vs", "Change vs"),
    ("benchmarks", "Benchmarks"),
    ("categories", "Satisfaction by category"),
    ("chart_note", "Bars: weighted 0–100 scores; whiskers: confidence intervals; red line: the overall index."),
    ("tree", "Index tree"),
    ("indicator", "Indicator"),
    ("weight", "Weight"),
    ("score", "Score"),
    ("top_box", "Top box"),
    ("expectation", "Expectation"),
    ("gap", "Gap"),
    ("tree_note", "Scores are weighted means on a 0–100 scale (measures in their own unit also show their raw mean). Weights are relative within each level. Gap = performance − expectation, per respondent, over those who answered both. Top box: share of answers in the top points of the scale. † low base."),
    ("segments", "Index by segment"),
    ("group", "Group"),
    ("method", "Method and sample"),
    ("sample", "Sample"),
    ("respondents", "respondents"),
    ("dropped", "dropped under the data policy"),
    ("data_file", "data file"),
    ("weighted", "Estimates use the respondent weights (sampling weights); base sizes n are unweighted."),
    ("unweighted", "Estimates are unweighted."),
    ("method_scores", "Answers are rescaled to 0–100 ((x − min)/(max − min) × 100, reversed where lower is better); missing and \"don't know\" answers are excluded item by item; a category averages the indicators each respondent answered, with the tree weights."),
    ("method_ci", "Confidence intervals at {level}: mean ± z × SE, with the linearised (Taylor) standard error for sampling weights."),
    ("low_base_note", "Low base: interpret with caution"),
    ("analyses", "Analyses"),
    ("analysis", "Analysis"),
    ("analysis_failed", "This analysis could not be produced"),
    ("produced_by", "Produced by the analysis plugin"),
    ("results_json", "all numbers on this page, machine-readable"),
    ("latest", "Latest"),
    ("studies", "Studies"),
    ("waves_count", "waves"),
    ("footer", "built from the study definition and its data; every figure carries its base size"),
];

const ZH: &[(&str, &str)] = &[
    ("waves", "调查期"),
    ("wave", "调查期"),
    ("fieldwork", "调查时间"),
    ("ci", "置信区间"),
    ("raw_mean", "均值"),
    ("moe", "误差范围"),
    ("vs", "较"),
    ("benchmarks", "对标"),
    ("categories", "各类别满意度"),
    ("chart_note", "条形：加权 0–100 分；误差线：置信区间；红线：总体指数。"),
    ("tree", "满意度指标体系"),
    ("indicator", "指标"),
    ("weight", "权重"),
    ("score", "得分"),
    ("top_box", "高分段比例"),
    ("expectation", "期望"),
    ("gap", "差距"),
    ("tree_note", "得分为 0–100 分的加权平均（有单位的指标另列原始均值）；权重为同级内的相对权重；差距 = 表现 − 期望，按同时回答两题的受访者逐人计算；高分段比例：答案落在量表最高几档的比例；† 样本量偏小。"),
    ("segments", "各细分群体的满意度指数"),
    ("group", "群体"),
    ("method", "方法与样本"),
    ("sample", "样本"),
    ("respondents", "名受访者"),
    ("dropped", "名按数据规则剔除"),
    ("data_file", "数据文件"),
    ("weighted", "估计值使用受访者权重（抽样权重）；样本量 n 为未加权人数。"),
    ("unweighted", "估计值未加权。"),
    ("method_scores", "答案换算为 0–100 分（(x − 最小值)/(最大值 − 最小值) × 100，越低越好的指标反向）；缺失与“不知道”逐题剔除；类别得分为受访者所答指标按权重的平均。"),
    ("method_ci", "置信水平 {level}：均值 ± z × 标准误，标准误按抽样权重的线性化（泰勒）方法计算。"),
    ("low_base_note", "样本量偏小，解读需谨慎"),
    ("analyses", "专项分析"),
    ("analysis", "专项分析"),
    ("analysis_failed", "本项分析未能生成"),
    ("produced_by", "由分析插件生成："),
    ("results_json", "本页全部数据（机器可读）"),
    ("latest", "最新"),
    ("studies", "研究"),
    ("waves_count", "期"),
    ("footer", "由研究定义与数据生成；每个数字均附样本量"),
];

/// The report wording for `language` (`zh`, `zh-CN` → Chinese; else English).
pub fn strings(language: &str) -> BTreeMap<&'static str, &'static str> {
    let mut map: BTreeMap<_, _> = EN.iter().copied().collect();
    if language.to_lowercase().starts_with("zh") {
        map.extend(ZH.iter().copied());
    }
    map
}
