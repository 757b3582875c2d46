namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// What <c>explain</c> prints: <c>{"explanation":{"primaryContactId":…,"steps":[…]}}</c>, or <c>{"explanation":null}</c>
/// when the two contacts are not one person.
/// </summary>
internal sealed record ExplainResponse(ExplanationView? Explanation)
{
    public static ExplainResponse From(ContactExplanation? explanation) =>
        new(explanation is null ? null : new ExplanationView(explanation.PrimaryContactId, [.. explanation.Steps.Select(ExplanationStepView.Of)]));
}

/// <summary>The explanation without the full contact rows: the path of contact ids and what joins each step.</summary>
internal sealed record ExplanationView(long PrimaryContactId, IReadOnlyList<ExplanationStepView> Steps);

/// <summary>
/// One step: <c>{"from":1,"to":2,"join":"SharedEmail","email":"…","phoneNumber":null}</c>. The values are the ones that
/// join the two contacts: the shared email or phone number, or both values of a merge link; none for a primary link.
/// They are the operator's own data, shown to the operator who asked.
/// </summary>
internal sealed record ExplanationStepView(long From, long To, ContactJoinKind Join, string? Email, string? PhoneNumber)
{
    public static ExplanationStepView Of(ContactExplanationStep step) => step.Join switch
    {
        ContactJoinKind.SharedEmail => new(step.From.Id, step.To.Id, step.Join, step.SharedValue, null),
        ContactJoinKind.SharedPhoneNumber => new(step.From.Id, step.To.Id, step.Join, null, step.SharedValue),
        ContactJoinKind.MergeLink => new(step.From.Id, step.To.Id, step.Join, step.Link?.Email, step.Link?.PhoneNumber),
        _ => new(step.From.Id, step.To.Id, step.Join, null, null),
    };
}
