package agent_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agent"
)

func TestReadSplitsCommandsFromPlainLines(t *testing.T) {
	out := agent.Read("##vso[task.setsecret]s3cret\r\n" +
		"minted\r" + // a lone CR ends a line too
		"##vso[task.setvariable variable=token;issecret=true;isoutput=true]s3cret\n" +
		"##vso[task.setvariable variable=expiresAt;isoutput=true]soon\n" +
		"##vso[task.settaskvariable variable=jobtoken;issecret=true]state%3Bwith%5Descapes\n" +
		"say ##vso[task.logissue type=warning]careful\n" +
		"##vso[bad]not a command\n")
	assert.Equal(t, []string{"minted", "##vso[bad]not a command"}, out.Plain())
	assert.True(t, out.Masked("s3cret"))
	assert.False(t, out.Masked("soon"))
	v, ok := out.Variable("token")
	assert.True(t, ok)
	assert.Equal(t, "s3cret", v.Data)
	assert.True(t, agent.CarriesSecret(&v))
	v, _ = out.Variable("expiresAt")
	assert.False(t, agent.CarriesSecret(&v))
	state, ok := out.TaskVariable("jobtoken")
	assert.True(t, ok)
	assert.Equal(t, "state;with]escapes", state)
	issues := out.Named("TASK.LOGISSUE")
	if assert.Len(t, issues, 1) {
		assert.Equal(t, "warning", issues[0].Prop("type"))
		assert.Equal(t, "careful", issues[0].Data)
	}
	assert.Len(t, out.Commands(), 5)
	assert.False(t, agent.CarriesSecret(nil))
}
