namespace IdentityReconciliation.Samples.Console;

/// <summary>How the commands describe an identifier the guards set aside.</summary>
internal static class SetAsideText
{
    /// <summary>For example <c>set aside: phoneNumber 0000000000 (a blocked placeholder value)</c>.</summary>
    public static string Describe(SetAsideIdentifier identifier) =>
        $"set aside: {Field(identifier.Kind)} {identifier.Value} ({Reason(identifier.Reason)})";

    public static string Field(ContactIdentifierKind kind) => kind == ContactIdentifierKind.Email ? "email" : "phoneNumber";

    /// <summary>The reason in the import summary: <c>blocked</c>, <c>email limit</c> or <c>phone number limit</c>.</summary>
    public static string ShortReason(SetAsideReason reason) => reason switch
    {
        SetAsideReason.Blocked => "blocked",
        SetAsideReason.EmailLimit => "email limit",
        _ => "phone number limit",
    };

    public static string Reason(SetAsideReason reason) => reason switch
    {
        SetAsideReason.Blocked => "a blocked placeholder value",
        SetAsideReason.EmailLimit => "over the per-person email limit",
        _ => "over the per-person phone number limit",
    };
}
